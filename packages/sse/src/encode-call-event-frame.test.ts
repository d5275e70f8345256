import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { encodeCallEventFrame } from './encode-call-event-frame';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('encodeCallEventFrame', () => {
  it('encodes id, event and data, once per event object', () => {
    const event = makeCallEvent();
    const first = encodeCallEventFrame({ type: 'event', cursor: 'ep:1', event });
    expect(text(first)).toBe(`id: ep:1\nevent: call\ndata: ${JSON.stringify(event)}\n\n`);
    expect(encodeCallEventFrame({ type: 'event', cursor: 'ep:1', event })).toBe(first);
    expect(text(encodeCallEventFrame({ type: 'event', cursor: 'ep:2', event }))).toContain(
      'id: ep:2\n',
    );
  });

  it('leaves out a cursor that cannot travel in an id line', () => {
    const frame = text(
      encodeCallEventFrame({ type: 'event', cursor: 'ep:1\nevent: evil', event: makeCallEvent() }),
    );
    expect(frame.startsWith('event: call\ndata: ')).toBe(true);
    expect(frame).not.toContain('evil');
  });
});
