import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { parseRedisLiveMessage, readStreamEvent } from './redis-stream-message';

describe('parseRedisLiveMessage', () => {
  it('reads one event, or a batch of them, with their cursors', () => {
    const [first, second] = [makeCallEvent(), makeCallEvent()];
    expect(parseRedisLiveMessage(`ep:7\n${JSON.stringify(first)}`, 'tenant-a')).toEqual({
      messages: [{ epoch: 'ep', seq: 7, cursor: 'ep:7', event: first }],
      unreadable: false,
    });
    const batch = parseRedisLiveMessage(
      `ep:8\n${JSON.stringify(first)}\nep:9\n${JSON.stringify({ ...second, data: { transcript: 'a\nb' } })}`,
      'tenant-a',
    );
    expect(batch.messages.map((message) => [message.seq, message.event?.id])).toEqual([
      [8, first?.id],
      [9, second?.id],
    ]);
    expect(batch.messages[1]?.event?.data.transcript).toBe('a\nb');
  });

  it("reads each cursor's verifier, and cursors without one (an earlier version's)", () => {
    const [first, second] = [makeCallEvent(), makeCallEvent()];
    const batch = parseRedisLiveMessage(
      `ep:8.mxb92y4l\n${JSON.stringify(first)}\nep:9\n${JSON.stringify(second)}`,
      'tenant-a',
    );
    expect(batch).toEqual({
      messages: [
        { epoch: 'ep', seq: 8, verifier: 'mxb92y4l', cursor: 'ep:8.mxb92y4l', event: first },
        { epoch: 'ep', seq: 9, cursor: 'ep:9', event: second },
      ],
      unreadable: false,
    });
    for (const cursor of ['ep:8.', 'ep:8.MX', 'ep:8.a.b', 'ep:8.123456789abc', 'ep:.ab']) {
      expect(parseRedisLiveMessage(`${cursor}\n${JSON.stringify(first)}`, 'tenant-a')).toEqual({
        messages: [],
        unreadable: true,
      });
    }
  });

  it('keeps the position of an event it cannot read, and stops at what is not a cursor', () => {
    const good = makeCallEvent();
    const parsed = parseRedisLiveMessage(
      `ep:1\n{oops\nep:2\n${JSON.stringify(good)}\ngarbage`,
      'tenant-a',
    );
    expect(parsed.unreadable).toBe(true);
    expect(
      parsed.messages.map((message) => [message.seq, message.event?.id, message.error?.message]),
    ).toEqual([
      [1, undefined, 'not JSON'],
      [2, good.id, undefined],
    ]);
    for (const raw of ['', 'no cursor', 'ep:x\n{}', ':1\n{}', `${'e'.repeat(100)}:1\n{}`]) {
      expect(parseRedisLiveMessage(raw, 'tenant-a').messages).toEqual([]);
    }
  });

  it("reads the header line, and names a later version's batch by its first position instead of reading it", () => {
    const [first, second] = [makeCallEvent(), makeCallEvent()];
    const body = `ep:8.mxb92y4l\n${JSON.stringify(first)}\nep:9.mxb92y4l\n${JSON.stringify(second)}`;
    expect(
      parseRedisLiveMessage(`v1 ep 8\n${body}`, 'tenant-a').messages.map((message) => [
        message.cursor,
        message.event?.id,
      ]),
    ).toEqual([
      ['ep:8.mxb92y4l', first.id],
      ['ep:9.mxb92y4l', second.id],
    ]);
    // A later version: whatever follows its header (more fields, another body) is not read.
    const later = parseRedisLiveMessage(`v2 ep 8 more fields\n\u0000binary`, 'tenant-a');
    expect(later.unreadable).toBe(false);
    expect(later.messages).toEqual([
      { epoch: 'ep', seq: 8, cursor: 'ep:8', event: undefined, error: expect.any(Error) },
    ]);
    expect(later.messages[0]?.error?.message).toMatch(/later version.*v2/);
    // A broken header is not read at all.
    for (const header of ['v', 'v1', 'v1 ep', 'v1 ep x', 'vx ep 8', 'v1 e:p 8', 'v1  ep 8']) {
      expect(parseRedisLiveMessage(`${header}\n${body}`, 'tenant-a')).toEqual({
        messages: [],
        unreadable: true,
      });
    }
  });

  it('names the position a version 1 header gives when nothing after it can be read', () => {
    for (const raw of ['v1 18c0a1b2c3d4e 42\nnot-a-cursor-line\n{"x":1}', 'v1 18c0a1b2c3d4e 42']) {
      const parsed = parseRedisLiveMessage(raw, 'tenant-a');
      expect(parsed.unreadable).toBe(false);
      expect(parsed.messages).toEqual([
        {
          epoch: '18c0a1b2c3d4e',
          seq: 42,
          cursor: '18c0a1b2c3d4e:42',
          event: undefined,
          error: expect.any(Error),
        },
      ]);
      expect(parsed.messages[0]?.error?.message).toMatch(/no cursor after the header/);
    }
  });

  it("refuses what is not an event of the channel's tenant", () => {
    expect(readStreamEvent('[1]', 'tenant-a')).toBeInstanceOf(Error);
    expect(readStreamEvent('{"id":1,"type":"x","tenantId":"tenant-a"}', 'tenant-a')).toBeInstanceOf(
      Error,
    );
    const other = makeCallEvent({ tenantId: 'tenant-b' });
    expect((readStreamEvent(JSON.stringify(other), 'tenant-a') as Error).message).toMatch(
      /another tenant/,
    );
    expect(readStreamEvent(JSON.stringify(other), undefined)).toEqual(other);
  });
});
