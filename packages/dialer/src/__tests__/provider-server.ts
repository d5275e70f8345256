// A loopback stand-in for Twilio's create-call API (POST /2010-04-01/Accounts/{sid}/Calls.json),
// counting calls per number and per reference, with faults to inject per number:
// `refuse` (400, Twilio error 21211, nothing placed), `fail-after` (the call is placed, then 500),
// `hang` (the call is placed and the answer never comes: a timeout), `cut-body` (the call is
// placed and answered 201, but the connection drops while the body streams), `nul-sid` and
// `lone-surrogate-sid` (the call is placed and answered 201 with a sid no store can keep).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProviderFault =
  | 'refuse'
  | 'fail-after'
  | 'hang'
  | 'cut-body'
  | 'nul-sid'
  | 'lone-surrogate-sid';

export interface PlacedTestCall {
  sid: string;
  to: string;
  reference: string | undefined;
}

export interface ProviderServer {
  url: string;
  accountSid: string;
  authToken: string;
  /** Every call placed, in order. */
  readonly calls: PlacedTestCall[];
  /** Calls per `To` number. */
  callsTo(number: string): number;
  /** Faults by `To` number. */
  readonly faults: Map<string, ProviderFault>;
  /** Resolves the held answers of `hang` calls (as a 500). */
  releaseHeld(): void;
  close(): Promise<void>;
}

export async function startProviderServer(
  options: { port?: number; onCall?: (call: PlacedTestCall) => void } = {},
): Promise<ProviderServer> {
  const accountSid = 'ACtest0000000000000000000000000000';
  const authToken = 'test-auth-token';
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const calls: PlacedTestCall[] = [];
  const perNumber = new Map<string, number>();
  const faults = new Map<string, ProviderFault>();
  const held = new Set<ServerResponse>();
  let sequence = 0;

  const answer = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (request.method === 'GET' && url.pathname === '/test/calls') {
        const reference = url.searchParams.get('reference');
        return answer(
          response,
          200,
          calls.filter((call) => call.reference === reference),
        );
      }
      if (request.method !== 'POST' || !/\/Accounts\/[^/]+\/Calls\.json$/.test(url.pathname)) {
        return answer(response, 404, { code: 20404, message: 'Not found', status: 404 });
      }
      if (request.headers.authorization !== expectedAuth) {
        return answer(response, 401, { code: 20003, message: 'Authenticate', status: 401 });
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const to = form.get('To') ?? '';
      const fault = faults.get(to);
      if (fault === 'refuse') {
        return answer(response, 400, {
          code: 21211,
          message: `The 'To' number ${to} is not a valid phone number.`,
          status: 400,
        });
      }
      const callback = form.get('StatusCallback');
      const reference = callback
        ? (new URL(callback).searchParams.get('reference') ?? undefined)
        : undefined;
      sequence += 1;
      const sid = `CA${String(process.pid)}x${String(sequence).padStart(8, '0')}`;
      const call: PlacedTestCall = {
        sid:
          fault === 'nul-sid'
            ? `${sid}\u0000`
            : fault === 'lone-surrogate-sid'
              ? `${sid}\ud800`
              : sid,
        to,
        reference,
      };
      calls.push(call);
      perNumber.set(to, (perNumber.get(to) ?? 0) + 1);
      options.onCall?.(call);
      if (fault === 'fail-after') {
        return answer(response, 500, {
          code: 20500,
          message: 'Internal Server Error',
          status: 500,
        });
      }
      if (fault === 'hang') {
        held.add(response);
        return;
      }
      if (fault === 'cut-body') {
        response.writeHead(201, { 'content-type': 'application/json', 'content-length': '400' });
        response.write(`{"sid":"${call.sid}",`);
        setTimeout(() => response.destroy(), 20);
        return;
      }
      answer(response, 201, {
        sid: call.sid,
        account_sid: accountSid,
        to,
        from: form.get('From'),
        status: 'queued',
        direction: 'outbound-api',
        date_created: new Date().toUTCString(),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    calls,
    callsTo: (number) => perNumber.get(number) ?? 0,
    faults,
    releaseHeld() {
      for (const response of held)
        answer(response, 500, { code: 20500, message: 'late', status: 500 });
      held.clear();
    },
    async close() {
      for (const response of held) response.destroy();
      held.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
