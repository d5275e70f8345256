/** One parsed SSE frame (or comment block). */
export interface ParsedFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comments: string[];
}

/** Parses SSE text blocks (our server ends lines with LF only). */
export function parseFrame(block: string): ParsedFrame {
  const frame: ParsedFrame = { comments: [] };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      frame.comments.push(line.slice(1).trimStart());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') frame.id = value;
    else if (field === 'event') frame.event = value;
    else if (field === 'retry') frame.retry = Number(value);
    else if (field === 'data')
      frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
  }
  return frame;
}

/** Reads SSE frames from a byte stream, one `next()` at a time (no timers). */
export class SseReader {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Every frame read so far. */
  readonly frames: ParsedFrame[] = [];

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  /** The next frame, or undefined at the end of the stream. */
  async next(): Promise<ParsedFrame | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end !== -1) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const frame = parseFrame(block);
        this.frames.push(frame);
        return frame;
      }
      const { done, value } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** The next frame that satisfies `check`, skipping others; fails at the end of the stream. */
  async nextWhere(check: (frame: ParsedFrame) => boolean): Promise<ParsedFrame> {
    for (;;) {
      const frame = await this.next();
      if (frame === undefined) throw new Error('The stream ended first.');
      if (check(frame)) return frame;
    }
  }

  /** The next `count` frames with an `event:` (comments and `retry:` skipped). */
  async events(count: number): Promise<ParsedFrame[]> {
    const frames: ParsedFrame[] = [];
    while (frames.length < count) frames.push(await this.nextWhere((frame) => !!frame.event));
    return frames;
  }

  /** Reads until the end of the stream; returns the frames read on the way. */
  async toEnd(): Promise<ParsedFrame[]> {
    const rest: ParsedFrame[] = [];
    for (let frame = await this.next(); frame; frame = await this.next()) rest.push(frame);
    return rest;
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
