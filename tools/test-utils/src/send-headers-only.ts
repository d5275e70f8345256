import { connect } from 'node:net';

/** What {@link sendHeadersOnly} got back. */
export interface HeadersOnlyAnswer {
  status: number;
  /** Response headers, names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** True when the server closed the connection after answering. */
  closed: boolean;
}

/**
 * Sends a request's line and headers over a real socket and holds the body back forever: the
 * request declares `content-length: declaredBytes` but not one byte of the body is sent. Resolves
 * with the server's answer, so a test can prove a server refuses from the headers alone; rejects
 * after `timeoutMs` (default 2 s) when the server waits for the body instead.
 */
export function sendHeadersOnly(
  url: string,
  options: {
    method?: string;
    /** Pairs may repeat a name: each pair is its own header line. */
    headers?: Record<string, string> | readonly (readonly [string, string])[];
    declaredBytes?: number;
    timeoutMs?: number;
  } = {},
): Promise<HeadersOnlyAnswer> {
  const target = new URL(url);
  const lines = [
    `${options.method ?? 'POST'} ${target.pathname}${target.search} HTTP/1.1`,
    `host: ${target.host}`,
    `content-length: ${options.declaredBytes ?? 1024 * 1024}`,
  ];
  const headers = options.headers ?? {};
  for (const [name, value] of Array.isArray(headers) ? headers : Object.entries(headers)) {
    lines.push(`${name}: ${value}`);
  }
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname);
    let received = '';
    let answer: HeadersOnlyAnswer | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${options.timeoutMs ?? 2000} ms without the body`));
    }, options.timeoutMs ?? 2000);
    const finish = (closed: boolean) => {
      if (answer === undefined) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...answer, closed });
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine = '', ...headerLines] = received.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = received.slice(end + 4);
      answer = { status: Number(statusLine.split(' ')[1]), headers, body, closed: false };
      const length = Number(headers['content-length']);
      // Wait for the close the server announced, so the test can check it.
      if (headers.connection !== 'close' && Buffer.byteLength(body) >= length) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (error) => {
      if (answer !== undefined) finish(true);
      else {
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}
