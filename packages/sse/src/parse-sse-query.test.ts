import { describe, expect, it } from 'vitest';
import { parseSseQuery } from './parse-sse-query';

const parse = (query: string, header?: string) =>
  parseSseQuery(new URLSearchParams(query), header, { maxFollowedCalls: 3 });

describe('parseSseQuery', () => {
  it('reads repeated call ids, types and type, branch and cursor', () => {
    expect(
      parse(
        'callId=A&callId=B&callId=A&types=call.ended, call.answered&type=call.*&branchId=n&lastEventId=e:4',
      ),
    ).toEqual({
      callIds: ['A', 'B'],
      types: ['call.ended', 'call.answered', 'call.*'],
      branchId: 'n',
      lastEventId: 'e:4',
    });
    expect(parse('')).toEqual({ callIds: [], types: [] });
  });

  it('prefers the Last-Event-ID header over the query, and ignores unknown parameters', () => {
    expect(parse('lastEventId=e:1&token=secret&_=123', 'e:9')).toEqual({
      callIds: [],
      types: [],
      lastEventId: 'e:9',
    });
    expect(parse('lastEventId=e:1', '')).toMatchObject({ lastEventId: 'e:1' });
  });

  it.each([
    ['tenantId=other', /credentials/],
    ['allTenants=true', /credentials/],
    ['allTenants=', /credentials/],
    ['callId=', /empty/],
    ['callId=a&callId=b&callId=c&callId=d', /At most 3/],
    ['types=call.ended,', /not an event type/],
    ['type=*', /not an event type/],
    ['type=Call.Ended', /not an event type/],
    ['branchId=a&branchId=b', /twice/],
    ['lastEventId=a%0Aid:%20x', /control characters/],
  ])('rejects %s', (query, message) => {
    expect(() => parse(query)).toThrow(message);
  });

  it('takes at most 50 event types per stream (types and type together; a repeat counts once)', () => {
    const names = Array.from({ length: 51 }, (_, index) => `call.t${index}`);
    const fifty = `types=${names.slice(0, 49).join(',')}&type=${names[49]}&type=${names[0]}`;
    expect(parse(fifty).types).toHaveLength(50);
    expect(() => parse(`${fifty}&type=${names[50]}`)).toThrow(/At most 50 event types/);
  });

  it('rejects a malformed Last-Event-ID header', () => {
    expect(() => parse('', 'x'.repeat(300))).toThrow(/longer/);
  });

  it('rejects a repeated Last-Event-ID header, as a repeated lastEventId', () => {
    const twice = (values: string[]) =>
      parseSseQuery(new URLSearchParams(''), values, { maxFollowedCalls: 3 });
    expect(() => twice(['e:1', 'e:2'])).toThrow(/"Last-Event-ID" was given twice/);
    expect(() => twice(['e:1', 'e:1'])).toThrow(/twice/);
    expect(twice(['e:1'])).toMatchObject({ lastEventId: 'e:1' });
    expect(twice([])).toEqual({ callIds: [], types: [] });
  });
});
