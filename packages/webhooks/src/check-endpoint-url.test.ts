import { describe, expect, it } from 'vitest';
import { checkEndpointUrl } from './check-endpoint-url';
import { createAddressGuard } from './create-address-guard';

const strict = { allowHttp: false, guard: createAddressGuard() };

describe('checkEndpointUrl', () => {
  it('accepts https URLs to public hosts', () => {
    expect(checkEndpointUrl('https://hooks.example.com/calltrack?key=1', strict)).toBeUndefined();
    expect(checkEndpointUrl('https://8.8.8.8/hook', strict)).toBeUndefined();
  });

  it('names what it refuses', () => {
    expect(checkEndpointUrl('', strict)).toBe('is required');
    expect(checkEndpointUrl('not a url', strict)).toBe('is not a valid URL');
    expect(checkEndpointUrl('http://hooks.example.com/', strict)).toBe('must be an https URL');
    expect(checkEndpointUrl('ftp://hooks.example.com/', { ...strict, allowHttp: true })).toMatch(
      /http or https/,
    );
    expect(checkEndpointUrl('https://user:pass@hooks.example.com/', strict)).toMatch(/credentials/);
    expect(checkEndpointUrl('https://hooks.example.com/#x', strict)).toMatch(/fragment/);
    expect(checkEndpointUrl(`https://example.com/${'a'.repeat(2050)}`, strict)).toMatch(/2,048/);
    expect(checkEndpointUrl('https://10.0.0.1/', strict)).toMatch(/private address/);
    expect(checkEndpointUrl('https://[::1]/', strict)).toMatch(/loopback address/);
    expect(checkEndpointUrl('https://169.254.169.254/latest', strict)).toMatch(/linkLocal/);
  });

  it('takes http and allowlisted ranges when configured', () => {
    const relaxed = { allowHttp: true, guard: createAddressGuard(['127.0.0.0/8']) };
    expect(checkEndpointUrl('http://127.0.0.1:8080/hook', relaxed)).toBeUndefined();
    // The allowlist opens 127/8, not the deprecated IPv4-compatible spelling of it.
    for (const url of ['http://[::127.0.0.1]/', 'http://[::7f00:1]/', 'https://[::a9fe:a9fe]/']) {
      expect([url, checkEndpointUrl(url, relaxed)]).toEqual([
        url,
        expect.stringMatching(/^points to a ipv4Compatible address/),
      ]);
    }
  });
});
