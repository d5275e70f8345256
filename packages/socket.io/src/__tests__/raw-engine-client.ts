import { createRequire } from 'node:module';
import { type NetConnectOpts, type Socket as NetSocket, connect as netConnect } from 'node:net';
import type * as WsModule from 'ws';

/**
 * A Socket.IO client written by hand on Engine.IO's wire protocol (v4), subscribed to the calls
 * of its tenant (or resuming them with `auth.lastCursor`), that can stop reading while it keeps
 * the connection alive: what a stalled or hostile browser tab looks like to the server.
 */
export interface RawEngineClient {
  /** The Socket.IO socket id the server gave it. */
  readonly socketId: string;
  /** Stops reading what the server sends (the TCP socket is paused, or polls stop). */
  stopReading(): void;
  /** Sends one Engine.IO packet (`3` is a pong) without reading anything. */
  send(packet: string): Promise<void>;
  close(): void;
}

/** `ws` as Socket.IO's engine ships it (the repository does not depend on it directly). */
function loadWs(): typeof WsModule {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('engine.io'))('ws') as typeof WsModule;
}

/** Waits for the first message `matches` accepts among those `next` yields. */
async function expectMessage(next: () => Promise<string>, matches: (message: string) => boolean) {
  for (;;) {
    const message = await next();
    if (matches(message)) return message;
  }
}

const handshakeOf = (auth: Record<string, unknown>) => `40${JSON.stringify(auth)}`;
const subscribeToCalls = '420["subscribe_to_calls",{}]';
const subscribedAck = '430[{"ok":true}]';

/**
 * Connects over a raw WebSocket (`ws`) with `auth` (credentials, and maybe a resume), and without
 * a `lastCursor` subscribes to calls.
 */
export async function rawWebSocketClient(
  url: string,
  auth: Record<string, unknown>,
): Promise<RawEngineClient> {
  const { WebSocket } = loadWs();
  let tcp: NetSocket | undefined;
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, {
    createConnection: ((options: NetConnectOpts) => {
      tcp = netConnect(options);
      return tcp;
    }) as typeof netConnect,
  });
  const inbox: string[] = [];
  const waiting: ((message: string) => void)[] = [];
  ws.on('message', (data) => {
    const message = String(data);
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  const failed = new Promise<never>((_, reject) => {
    ws.once('error', reject);
    ws.once('close', () => reject(new Error('The server closed the WebSocket')));
  });
  failed.catch(() => {});
  const next = () =>
    Promise.race([
      failed,
      new Promise<string>((resolve) => {
        const queued = inbox.shift();
        if (queued !== undefined) resolve(queued);
        else waiting.push(resolve);
      }),
    ]);
  await expectMessage(next, (message) => message.startsWith('0{'));
  ws.send(handshakeOf(auth));
  const connected = await expectMessage(next, (message) => message.startsWith('40'));
  const socketId = (JSON.parse(connected.slice(2)) as { sid: string }).sid;
  if (auth.lastCursor === undefined) {
    ws.send(subscribeToCalls);
    await expectMessage(next, (message) => message === subscribedAck);
  }
  return {
    socketId,
    stopReading: () => tcp?.pause(),
    send: (packet) =>
      new Promise((resolve, reject) =>
        ws.send(packet, (error) => (error ? reject(error) : resolve())),
      ),
    close: () => ws.terminate(),
  };
}

/** A long-polling {@link RawEngineClient} that polls when asked. */
export interface RawPollingClient extends RawEngineClient {
  /** Every packet received so far, in order. */
  readonly received: string[];
  /** One poll: the packets the server had waiting (it answers at once when it has some). */
  poll(): Promise<string[]>;
}

/**
 * Connects over HTTP long-polling with `auth`, and without a `lastCursor` subscribes to calls.
 * Then it polls only when asked.
 */
export async function rawPollingClient(
  url: string,
  auth: Record<string, unknown>,
): Promise<RawPollingClient> {
  const open = await (await fetch(`${url}/socket.io/?EIO=4&transport=polling`)).text();
  const { sid } = JSON.parse(open.slice(1)) as { sid: string };
  const endpoint = `${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const post = async (packet: string): Promise<void> => {
    const response = await fetch(endpoint, { method: 'POST', body: packet });
    await response.text();
  };
  const received: string[] = [];
  const poll = async () => {
    const packets = (await (await fetch(endpoint)).text()).split('\x1e');
    received.push(...packets);
    return packets;
  };
  const pollUntil = async (matches: (packet: string) => boolean): Promise<string> => {
    for (;;) {
      const found = (await poll()).find(matches);
      if (found !== undefined) return found;
    }
  };
  await post(handshakeOf(auth));
  const connected = await pollUntil((packet) => packet.startsWith('40'));
  const socketId = (JSON.parse(connected.slice(2)) as { sid: string }).sid;
  if (auth.lastCursor === undefined) {
    await post(subscribeToCalls);
    await pollUntil((packet) => packet === subscribedAck);
  }
  return {
    socketId,
    received,
    poll,
    // Long-polling delivers only in answer to a GET: sending none is not reading.
    stopReading: () => {},
    send: post,
    close: () => {},
  };
}
