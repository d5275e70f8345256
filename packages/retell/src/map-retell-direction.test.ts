import { describe, expect, it } from 'vitest';
import { mapRetellDirection } from './map-retell-direction';

describe('mapRetellDirection', () => {
  it('maps inbound and outbound in any case', () => {
    expect(mapRetellDirection('inbound')).toBe('inbound');
    expect(mapRetellDirection(' OUTBOUND ')).toBe('outbound');
  });

  it('gives undefined for anything else', () => {
    expect(mapRetellDirection(undefined)).toBeUndefined();
    expect(mapRetellDirection(null)).toBeUndefined();
    expect(mapRetellDirection('web')).toBeUndefined();
  });
});
