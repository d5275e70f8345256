import { describe, expect, it } from 'vitest';
import { readDemoConfig } from './read-demo-config';

/** The message `read` throws with. */
function messageOf(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('did not throw');
}

describe('readDemoConfig', () => {
  it('refuses a bad PORT, PUBLIC_URL or RECORDING_HOSTS with one line naming it', () => {
    // main.ts prints the message as it is and exits 1 (main.test.ts).
    const cases = [
      [{ PORT: 'abc' }, /^PORT /],
      [{ PORT: '70000' }, /^PORT /],
      [{ PORT: '3000.5' }, /^PORT /],
      [{ PUBLIC_URL: 'not a url' }, /^PUBLIC_URL /],
      [{ PUBLIC_URL: 'ftp://tunnel.example.com' }, /^PUBLIC_URL /],
      [{ RECORDING_HOSTS: 'https://files.example.com/x' }, /^RECORDING_HOSTS /],
    ] as const;
    for (const [env, named] of cases) {
      // As main.test.ts runs main.ts: in memory, on any free port.
      const message = messageOf(() => readDemoConfig({ REDIS_URL: '', PORT: '0', ...env }, []));
      expect([env, message]).toEqual([env, expect.stringMatching(named)]);
      expect(message.split('\n'), message).toHaveLength(1);
    }
  });

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
