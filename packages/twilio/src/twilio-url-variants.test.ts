import { describe, expect, it } from 'vitest';
import { twilioUrlVariants } from './twilio-url-variants';

const variants = (url: string) => [...twilioUrlVariants(url)];

describe('twilioUrlVariants', () => {
  it('yields the URL as received first', () => {
    expect(variants('https://example.com/hook?a=1')[0]).toBe('https://example.com/hook?a=1');
  });

  it('adds the default port when there is none and removes a port that is there', () => {
    expect(variants('https://example.com/hook')).toEqual([
      'https://example.com/hook',
      'https://example.com:443/hook',
    ]);
    expect(variants('http://example.com/hook')).toContain('http://example.com:80/hook');
    expect(variants('https://example.com:8443/hook')).toEqual([
      'https://example.com:8443/hook',
      'https://example.com/hook',
    ]);
  });

  it('keeps user info and IPv6 hosts intact', () => {
    expect(variants('https://user:pass@example.com/x')).toContain(
      'https://user:pass@example.com:443/x',
    );
    expect(variants('http://[::1]:3000/x')).toEqual(['http://[::1]:3000/x', 'http://[::1]/x']);
  });

  it("turns %27 back into ' and tries the legacy querystring encoding", () => {
    const all = variants('https://example.com/x?name=William+O%27hara');
    expect(all).toContain("https://example.com/x?name=William+O'hara");
    expect(all).toContain("https://example.com/x?name=William%20O'hara");
  });

  it('drops a fragment as a variant', () => {
    expect(variants('https://example.com/x#rc=2')).toContain('https://example.com/x');
  });

  it('yields only the input for something that is not an absolute URL', () => {
    expect(variants('not a url')).toEqual(['not a url']);
  });

  it('never repeats a candidate', () => {
    const all = variants('https://example.com:443/x?a=1&b=%27#f');
    expect(new Set(all).size).toBe(all.length);
  });
});
