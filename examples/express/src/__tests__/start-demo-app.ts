import type { CallControl } from '@calltrack/core';
import { demoCredentials } from '@calltrack/simulator';
import { createDemoApp, type DemoApp, type DemoAppOptions } from '../create-demo-app';
import { type DemoProviders, startDemoProviders } from '../start-demo-providers';

const running = new Set<{ close(): Promise<void> }>();

/**
 * Starts the example app on a free port of `host` (default loopback, as `HOST` does), with the
 * simulator's credentials.
 */
export async function startDemoApp(
  options: Partial<DemoAppOptions> = {},
  { host = '127.0.0.1' }: { host?: string } = {},
): Promise<DemoApp & { url: string }> {
  const demo = createDemoApp({
    credentials: { ...demoCredentials },
    logger: { warn: () => {}, error: console.error },
    ...options,
  });
  running.add(demo);
  const url = await demo.listen(0, host);
  return Object.assign(demo, { url });
}

/**
 * Starts the app as `npm start` runs it: with the simulated providers (their webhooks, and their
 * APIs behind click-to-call and hang-up). The simulator is not started: call
 * `providers.simulator.start()` for inbound traffic.
 */
export async function startConsoleApp(
  options: Partial<DemoAppOptions> & {
    providers?: Parameters<typeof startDemoProviders>[1];
  } = {},
  listening: { host?: string } = {},
): Promise<DemoApp & { url: string; providers: DemoProviders }> {
  let adapters: Readonly<Record<string, CallControl>> | undefined;
  const { providers: providerOptions, ...appOptions } = options;
  const demo = await startDemoApp(
    {
      callControl: (_principal, provider) => adapters?.[provider],
      dialerCallControl: () => adapters?.twilio,
      ...appOptions,
    },
    listening,
  );
  const providers = await startDemoProviders(demo.url, providerOptions);
  running.add(providers);
  adapters = providers.callControl;
  return Object.assign(demo, { providers });
}

/** Closes every app (and simulated provider) the helpers started; for `afterEach`. */
export async function stopDemoApps(): Promise<void> {
  const apps = [...running].reverse();
  running.clear();
  for (const app of apps) await app.close();
}
