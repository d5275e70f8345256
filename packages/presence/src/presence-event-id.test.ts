import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { messageEventId, presenceEventId } from './presence-event-id';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

describe('presence event ids', () => {
  it('keeps a user id of up to 160 characters as it is', () => {
    const id = 'u'.repeat(160);
    expect(presenceEventId(id, 1000, 1001)).toBe(`presence:${id}:1000:1001`);
    expect(messageEventId('agent-7', 'm1')).toBe('message:agent-7:m1');
  });

  it('shortens a longer one to its first 120 characters and its hash, longer than any id kept', () => {
    const long = 'agent-'.padEnd(200, 'x');
    const part = `${long.slice(0, 120)}~${sha1(long)}`;
    expect(part.length).toBeGreaterThan(160);
    expect(presenceEventId(long, 1000, 1001)).toBe(`presence:${part}:1000:1001`);
    expect(messageEventId(long, 'm1')).toBe(`message:${part}:m1`);
    expect(messageEventId(sha1(long), 'm1')).not.toBe(messageEventId(long, 'm1'));
    // Never half of a surrogate pair: the cut moves past it.
    const emoji = `a${'😀'.repeat(100)}`;
    expect(messageEventId(emoji, 'm1')).toBe(`message:${emoji.slice(0, 121)}~${sha1(emoji)}:m1`);
  });
});
