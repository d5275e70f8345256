import { describe, expect, it } from 'vitest';
import { encodeSseFrame, isSafeSseField } from './encode-sse-frame';

describe('encodeSseFrame', () => {
  it('writes the fields in order and ends with a blank line', () => {
    expect(encodeSseFrame({ id: 'e:1', event: 'call', data: '{"a":1}' })).toBe(
      'id: e:1\nevent: call\ndata: {"a":1}\n\n',
    );
    expect(encodeSseFrame({ retry: 3000 })).toBe('retry: 3000\n\n');
    expect(encodeSseFrame({ comment: 'ping' })).toBe(': ping\n\n');
  });

  it('splits data and comments on every kind of line break', () => {
    expect(encodeSseFrame({ data: 'a\nb\r\nc\rd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(encodeSseFrame({ comment: 'a\r\nid: x' })).toBe(': a\n: id: x\n\n');
  });

  it('refuses an id or event name that would break out of its line', () => {
    for (const bad of ['a\nevent: evil', 'a\rb', 'a\0b']) {
      expect(isSafeSseField(bad)).toBe(false);
      expect(() => encodeSseFrame({ id: bad })).toThrow(TypeError);
      expect(() => encodeSseFrame({ event: bad })).toThrow(TypeError);
    }
    expect(() => encodeSseFrame({ event: '' })).toThrow(TypeError);
    expect(() => encodeSseFrame({ retry: -1 })).toThrow(TypeError);
    expect(() => encodeSseFrame({ retry: 1.5 })).toThrow(TypeError);
  });
});
