import { describe, expect, it } from 'vitest';
import { readDemoConfig } from './read-demo-config';

describe('readDemoConfig', () => {
  it('listens on loopback unless HOST says otherwise (the demo has no login)', () => {
    expect(readDemoConfig({}, []).host).toBe('127.0.0.1');
    expect(readDemoConfig({ HOST: '' }, []).host).toBe('127.0.0.1');
    expect(readDemoConfig({ HOST: '0.0.0.0' }, []).host).toBe('0.0.0.0');
  });
});
