import { describe, expect, it } from 'vitest';
import { callIdPathSegment, decodeCallIdPathSegment } from './call-id-path-segment';

describe('callIdPathSegment', () => {
  it('percent-encodes an id, and writes route words and dot segments so that URLs keep them', () => {
    expect(callIdPathSegment('CA123')).toBe('CA123');
    expect(callIdPathSegment('a/b c')).toBe('a%2Fb%20c');
    expect(callIdPathSegment('count')).toBe('%63ount');
    expect(callIdPathSegment('active')).toBe('%61ctive');
    expect(callIdPathSegment('.')).toBe('%00.');
    expect(callIdPathSegment('..')).toBe('%00..');
    expect(callIdPathSegment('...')).toBe('...');
    // URL parsing leaves every one of them a segment of its own.
    for (const callId of ['.', '..', 'count', 'a/b', '%2E%2E']) {
      const url = new URL(`http://host/calls/active/${callIdPathSegment(callId)}`);
      expect(url.pathname.split('/'), callId).toHaveLength(4);
    }
  });

  it('is read back as the same id', () => {
    for (const callId of [
      'CA123',
      '.',
      '..',
      'count',
      'active',
      '%00',
      '%2E',
      'a/b',
      '☎ ä',
      '?#&',
    ]) {
      expect(decodeCallIdPathSegment(callIdPathSegment(callId)), callId).toBe(callId);
    }
    expect(decodeCallIdPathSegment('%63%6F%75%6E%74')).toBe('count');
    expect(() => decodeCallIdPathSegment('%E0%A4%A')).toThrowError(URIError);
  });
});
