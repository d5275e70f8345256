import { demoCredentials } from '@calltrack/simulator';
import { createDemoApp, type DemoApp, type DemoAppOptions } from '../create-demo-app';

const running = new Set<DemoApp>();

/** Starts the example app on a free loopback port, with the simulator's credentials. */
export async function startDemoApp(
  options: Partial<DemoAppOptions> = {},
): Promise<DemoApp & { url: string }> {
  const demo = createDemoApp({
    credentials: { ...demoCredentials },
    logger: { warn: () => {}, error: console.error },
    ...options,
  });
  running.add(demo);
  const url = await demo.listen(0, '127.0.0.1');
  return Object.assign(demo, { url });
}

/** Closes every app {@link startDemoApp} started; for `afterEach`. */
export async function stopDemoApps(): Promise<void> {
  const apps = [...running];
  running.clear();
  await Promise.all(apps.map((demo) => demo.close()));
}
