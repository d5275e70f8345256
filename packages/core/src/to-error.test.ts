import { describe, expect, it } from 'vitest';
import { toError } from './to-error';

describe('toError', () => {
  it('hands an Error on as it is', () => {
    const error = new TypeError('bad');
    expect(toError(error)).toBe(error);
  });

  it('wraps anything else in an Error whose cause is the value', () => {
    const thrown = { code: 42 };
    const error = toError(thrown);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('Non-Error thrown: [object Object]');
    expect(error.cause).toBe(thrown);
    expect(toError('store down').message).toBe('store down');
  });

  it('survives a value that cannot be written as text', () => {
    const hostile = Object.create(null) as object;
    expect(toError(hostile).message).toBe('Non-Error thrown');
    expect(toError(hostile).cause).toBe(hostile);
  });
});
