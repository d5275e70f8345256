import { describe, expect, it } from 'vitest';
import { parseTwilioTimestamp } from './parse-twilio-timestamp';

describe('parseTwilioTimestamp', () => {
  it('reads the RFC 2822 timestamps of status callbacks', () => {
    expect(parseTwilioTimestamp('Sun, 25 Mar 2018 09:53:19 +0000')).toBe(
      '2018-03-25T09:53:19.000Z',
    );
    expect(parseTwilioTimestamp('25 Mar 2018 11:53:19 +0200')).toBe('2018-03-25T09:53:19.000Z');
    expect(parseTwilioTimestamp('Sun, 25 Mar 2018 09:53:19 GMT')).toBe('2018-03-25T09:53:19.000Z');
  });

  it('accepts ISO 8601', () => {
    expect(parseTwilioTimestamp('2018-03-25T09:53:19Z')).toBe('2018-03-25T09:53:19.000Z');
  });

  it('returns undefined for anything else', () => {
    for (const value of [
      '',
      'yesterday',
      '1521971599',
      'Sun, 32 Foo 2018 09:53:19 +0000',
      undefined,
    ]) {
      expect(parseTwilioTimestamp(value)).toBeUndefined();
    }
  });
});

describe('parseTwilioTimestamp: calendar checks', () => {
  it('rejects impossible dates and times', () => {
    for (const value of [
      'Sat, 31 Feb 2018 09:53:19 +0000',
      'Sun, 25 Mar 2018 24:00:00 +0000',
      'Sun, 25 Mar 2018 09:60:00 +0000',
    ]) {
      expect(parseTwilioTimestamp(value)).toBeUndefined();
    }
  });

  it('applies negative offsets and reads a time without seconds', () => {
    expect(parseTwilioTimestamp('Sun, 25 Mar 2018 04:53 -0500')).toBe('2018-03-25T09:53:00.000Z');
  });

  it('agrees with Date.parse on well-formed RFC 2822 strings', () => {
    for (const value of [
      'Mon, 01 Jan 2024 00:00:00 +0000',
      '29 Feb 2024 23:59:59 +0530',
      'Tue, 31 Dec 2030 12:00:00 GMT',
    ]) {
      expect(parseTwilioTimestamp(value)).toBe(new Date(Date.parse(value)).toISOString());
    }
  });

  it('answers a repeated text as it did the first time, and a new one anew', () => {
    const text = 'Sun, 25 Mar 2018 09:53:19 +0000';
    expect(parseTwilioTimestamp(text)).toBe('2018-03-25T09:53:19.000Z');
    expect(parseTwilioTimestamp(text)).toBe('2018-03-25T09:53:19.000Z');
    expect(parseTwilioTimestamp('31 Feb 2024 10:00:00 +0000')).toBeUndefined();
    expect(parseTwilioTimestamp('31 Feb 2024 10:00:00 +0000')).toBeUndefined();
    expect(parseTwilioTimestamp('Sun, 25 Mar 2018 09:53:20 +0000')).toBe(
      '2018-03-25T09:53:20.000Z',
    );
  });
});
