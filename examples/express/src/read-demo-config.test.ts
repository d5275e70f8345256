import { describe, expect, it } from 'vitest';
import { readDemoConfig } from './read-demo-config';

describe('readDemoConfig', () => {
  it('listens on loopback unless HOST says otherwise (the demo has no login)', () => {
    expect(readDemoConfig({}, []).host).toBe('127.0.0.1');
    expect(readDemoConfig({ HOST: '' }, []).host).toBe('127.0.0.1');
    expect(readDemoConfig({ HOST: '0.0.0.0' }, []).host).toBe('0.0.0.0');
  });

  it('reads RECORDING_HOSTS as hosts, as URLs write them, and refuses URLs in it', () => {
    expect(readDemoConfig({}, []).recordingHosts).toEqual([]);
    expect(
      readDemoConfig({ RECORDING_HOSTS: 'Files.Example.com, media.example.in:8443,' }, [])
        .recordingHosts,
    ).toEqual(['files.example.com', 'media.example.in:8443']);
    expect(() => readDemoConfig({ RECORDING_HOSTS: 'https://files.example.com/x' }, [])).toThrow(
      /RECORDING_HOSTS takes host names/,
    );
  });
});
