import { createServer } from 'node:http';
import { toNodeHandler } from '@calltrack/core/node';
import { serveForTest } from '@calltrack/test-utils';
import { createDialerHandler } from '../create-dialer-handler';
import type { LeadStore } from '../lead-store';
import { type DialerApp, demoTenant } from './start-dialer-app';
import { signTestJwt, verifyTestJwt } from './test-jwt';

/**
 * The dialer API of `app` over `store` at `/api` on loopback (closed through `closers`), and
 * `api`, a request to it signed in as the demo tenant's `user-1`: a `GET` without a body, a
 * `POST` of JSON with one, unless `method` says. `reported` holds what reached `onError`.
 */
export async function serveDialerApi(
  app: DialerApp,
  store: LeadStore,
  closers: (() => Promise<unknown> | unknown)[],
) {
  const reported: Error[] = [];
  const served = await serveForTest(
    createServer(
      toNodeHandler(
        createDialerHandler({
          dialer: app.dialer,
          store,
          basePath: '/api',
          authenticate: (request) =>
            verifyTestJwt(request.headers.get('authorization')?.replace(/^Bearer /, '')),
          onError: (error) => reported.push(error),
        }),
      ),
    ),
  );
  closers.push(() => served.close());
  const token = await signTestJwt({ tenantId: demoTenant, userId: 'user-1' });
  const api = (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${served.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return { api, reported };
}
