import { describe, expect, it } from 'vitest';
import { maskLogContext } from './mask-log-context';

describe('maskLogContext', () => {
  it('masks phone fields, phone numbers inside text and inside errors, and leaves ids alone', () => {
    const masked = maskLogContext({
      from: '+14155550123',
      call: { to: '+442071838750', callId: 'CA0123456789abcdef0123456789abcdef' },
      note: 'caller (415) 555-0123 hung up at 2026-11-21T10:00:00.000Z',
      error: new Error('number +14155550123 is blocked'),
      count: 3,
    });
    const text = JSON.stringify(masked);
    expect(text).not.toMatch(/5550123|1838750/);
    expect(masked).toMatchObject({
      from: '+14******123',
      call: { callId: 'CA0123456789abcdef0123456789abcdef' },
      count: 3,
      error: { name: 'Error' },
    });
    expect(text).toContain('2026-11-21T10:00:00.000Z');
  });
});
