import { describe, expect, it } from 'vitest';
import { hashText } from './hash-text';

describe('hashText', () => {
  it('is 16 hex characters, the same for the same text in every version (event ids use it)', () => {
    // Pinned: a change here changes the event ids of long call ids and statuses.
    expect(hashText('CA42')).toBe('fc6d762ff04e2a05');
    expect(hashText('')).toBe('811c9dc501000193');
    expect(hashText('CA42')).toBe(hashText('CA42'));
    expect(hashText('CA43')).not.toBe(hashText('CA42'));
    expect(hashText('📞'.repeat(300))).toMatch(/^[0-9a-f]{16}$/);
  });
});
