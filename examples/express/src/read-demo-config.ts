import { demoCredentials } from '@calltrack/simulator';
import type { DemoCredentials } from './create-demo-app';

/** What main.ts reads from the environment and the command line. */
export interface DemoConfig {
  port: number;
  /** Default 127.0.0.1: the demo has no login, so only this machine reaches it unless HOST says. */
  host: string;
  /** Set: every backend runs on this Redis. Unset: in memory. */
  redisUrl: string | undefined;
  redisPrefix: string;
  credentials: DemoCredentials;
  publicUrl: string | undefined;
  /** Twilio account, to fetch real recordings with (the console plays them through the app). */
  twilioAccountSid: string | undefined;
  /** Hosts recordings may be fetched from besides the providers' own (`RECORDING_HOSTS`). */
  recordingHosts: string[];
  /** Feed the app with simulated calls (`--simulate`). */
  simulate: boolean;
  /** Simulated calls started per second. */
  simulatorRate: number;
  /** Most simulated calls running at once. */
  simulatorMaxActiveCalls: number;
}

function readNumber(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) {
    throw new Error(`${name} must be a non-negative number, not ${JSON.stringify(value)}`);
  }
  return number;
}

function readPort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535) {
    throw new Error(`PORT must be a whole number from 0 to 65535, not ${JSON.stringify(value)}`);
  }
  return port;
}

/** The public origin Twilio signs for: an absolute http(s) URL (checked here, not at startup). */
function readPublicUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const url = parseUrl(value);
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Error(
      `PUBLIC_URL must be an absolute http(s) URL such as https://abc.ngrok.app, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** `RECORDING_HOSTS`: comma-separated `host` or `host:port`, as `URL.host` writes them. */
function readHosts(value: string | undefined, name: string): string[] {
  const hosts: string[] = [];
  for (const entry of (value ?? '').split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const host = /[/@?#\\]/.test(entry) ? undefined : parseUrl(`https://${entry}`)?.host;
    if (!host) {
      throw new Error(`${name} takes host names (host or host:port), not ${JSON.stringify(entry)}`);
    }
    hosts.push(host);
  }
  return hosts;
}

/**
 * Reads the configuration; throws an `Error` whose message names the bad variable (main.ts
 * prints it as one line). Secrets default to the simulator's demo credentials, which is what
 * the simulator signs with; set your real ones to receive real webhooks.
 */
export function readDemoConfig(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): DemoConfig {
  const nonEmpty = (value: string | undefined) => (value === '' ? undefined : value);
  return {
    port: readPort(env.PORT),
    host: nonEmpty(env.HOST) ?? '127.0.0.1',
    redisUrl: nonEmpty(env.REDIS_URL),
    redisPrefix: nonEmpty(env.CALLTRACK_REDIS_PREFIX) ?? 'calltrack',
    credentials: {
      twilioAuthToken: nonEmpty(env.TWILIO_AUTH_TOKEN) ?? demoCredentials.twilioAuthToken,
      retellApiKey: nonEmpty(env.RETELL_API_KEY) ?? demoCredentials.retellApiKey,
      callerDeskToken: nonEmpty(env.CALLERDESK_TOKEN) ?? demoCredentials.callerDeskToken,
    },
    publicUrl: readPublicUrl(env.PUBLIC_URL),
    twilioAccountSid: nonEmpty(env.TWILIO_ACCOUNT_SID),
    recordingHosts: readHosts(env.RECORDING_HOSTS, 'RECORDING_HOSTS'),
    simulate: argv.includes('--simulate') || env.SIMULATE === '1',
    simulatorRate: readNumber(env.SIMULATOR_RATE, 'SIMULATOR_RATE', 0.5),
    simulatorMaxActiveCalls: readNumber(
      env.SIMULATOR_MAX_ACTIVE_CALLS,
      'SIMULATOR_MAX_ACTIVE_CALLS',
      25,
    ),
  };
}
