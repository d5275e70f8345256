import { describe, expect, it } from 'vitest';
import { mapCallerDeskDirection } from './map-callerdesk-direction';

describe('mapCallerDeskDirection', () => {
  it.each([
    ['IVR', 'inbound'],
    ['ivr', 'inbound'],
    ['Incoming', 'inbound'],
    ['WEBOBD', 'outbound'],
    ['OBD', 'outbound'],
    ['outgoing', 'outbound'],
    ['C2C', 'outbound'],
    ['click-to-call', 'outbound'],
    ['', undefined],
    ['Voicemail', undefined],
    [undefined, undefined],
  ])('maps %j to %s', (input, expected) => {
    expect(mapCallerDeskDirection(input)).toBe(expected);
  });
});
