import { callEventTypes } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { createAddressGuard } from './create-address-guard';
import { InvalidEndpointError } from './errors/invalid-endpoint-error';
import { parseEndpointInput } from './parse-endpoint-input';

const policy = { allowHttp: false, guard: createAddressGuard(), knownEventTypes: callEventTypes };
const refuse = (input: unknown, mode: 'create' | 'update' = 'create') => {
  try {
    parseEndpointInput(input, mode, policy);
  } catch (error) {
    expect(InvalidEndpointError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('parseEndpointInput', () => {
  it('accepts full settings and lower-cases header names', () => {
    expect(
      parseEndpointInput(
        {
          url: 'https://crm.example.com/hooks',
          description: 'CRM',
          events: ['call.*'],
          headers: { Authorization: 'Bearer abc' },
          rateLimitPerSecond: 5,
          maxConcurrency: 2,
          enabled: false,
        },
        'create',
        policy,
      ),
    ).toEqual({
      url: 'https://crm.example.com/hooks',
      description: 'CRM',
      events: ['call.*'],
      headers: { authorization: 'Bearer abc' },
      rateLimitPerSecond: 5,
      maxConcurrency: 2,
      enabled: false,
    });
  });

  it('needs a url to create, not to update', () => {
    expect(refuse({})).toBe('url: is required.');
    expect(parseEndpointInput({ description: 'x' }, 'update', policy)).toEqual({
      description: 'x',
    });
  });

  it('refuses bad input with a message naming the field', () => {
    const url = 'https://crm.example.com/';
    expect(refuse({ url: 'http://crm.example.com/' })).toBe('url: must be an https URL.');
    expect(refuse({ url, events: ['call.endd'] })).toMatch(/^events: "call.endd" is not a known/);
    expect(refuse({ url, events: 'call.*' })).toMatch(/^events: /);
    expect(refuse({ url, description: 'x'.repeat(513) })).toMatch(/^description: .*512/);
    expect(refuse({ url, headers: { 'webhook-id': 'x' } })).toMatch(/cannot be overridden/);
    expect(refuse({ url, headers: { Host: 'x' } })).toMatch(/cannot be overridden/);
    expect(refuse({ url, headers: { 'bad name': 'x' } })).toMatch(/not a valid header name/);
    expect(refuse({ url, headers: { 'x-a': 'a\r\nb' } })).toMatch(/only visible ASCII/);
    for (const value of ['Zürich €', 'Zürich', 'a\u0001b', 'a\u007fb', 'a\0b', '\u{1f600}']) {
      expect(refuse({ url, headers: { 'x-a': value } })).toBe(
        'headers: the value of "x-a" may hold only visible ASCII characters, spaces and tabs.',
      );
    }
    expect(refuse({ url, headers: JSON.parse('{"__proto__":"x"}') })).toBe(
      'headers: "__proto__" is not a valid header name.',
    );
    expect(refuse({ url, headers: { 'x-a': 'a'.repeat(2000) } })).toMatch(/1,024/);
    expect(refuse({ url, headers: { 'X-A': '1', 'x-a': '2' } })).toMatch(/given twice/);
    expect(refuse({ url, rateLimitPerSecond: 0 })).toMatch(/^rateLimitPerSecond: must be positive/);
    expect(refuse({ url, maxConcurrency: 1.5 })).toMatch(/whole number/);
    expect(refuse({ url, tenantId: 'other' })).toBe('Unknown field "tenantId".');
    expect(refuse([])).toMatch(/JSON object/);
  });

  it('refuses a lone surrogate in the description or the URL, and takes a whole pair', () => {
    const url = 'https://crm.example.com/';
    const lone = 'must not contain a lone surrogate (half of a UTF-16 pair).';
    for (const text of ['\ud800', 'a\udc00b', 'CRM \ud83d']) {
      expect(refuse({ url, description: text })).toBe(`description: ${lone}`);
      expect(refuse({ url: `${url}${text}` })).toBe(`url: ${lone}`);
      expect(refuse({ description: text }, 'update')).toBe(`description: ${lone}`);
    }
    expect(
      parseEndpointInput(
        { url: `${url}\u{1f600}`, description: 'CRM \u{1f600}' },
        'create',
        policy,
      ),
    ).toEqual({ url: `${url}\u{1f600}`, description: 'CRM \u{1f600}' });
  });
  it('takes up to 20 custom headers of up to 1,024 characters each, and refuses more (README)', () => {
    const url = 'https://crm.example.com/';
    const twenty = Object.fromEntries(
      Array.from({ length: 20 }, (_, n) => [`x-custom-${n}`, 'v'.repeat(1024)]),
    );
    expect(parseEndpointInput({ url, headers: twenty }, 'create', policy).headers).toEqual(twenty);
    expect(refuse({ url, headers: { ...twenty, 'x-custom-20': 'v' } })).toMatch(
      /^headers: .*at most 20 headers/,
    );
    expect(refuse({ url, headers: { 'x-long': 'v'.repeat(1025) } })).toMatch(
      /^headers\.x-long: values must be at most 1,024 characters/,
    );
  });
});
