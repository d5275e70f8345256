import type { Socket } from 'socket.io';

/** A client's Engine.IO socket (`socket.conn`), shared by its namespaces. */
export type EngineConnection = Socket['conn'];

/**
 * What the limit reads of an Engine.IO socket: its `writeBuffer`, the packets not yet handed to
 * the transport (private in Engine.IO's types; optional here, so a version without it only
 * turns the limit off).
 */
interface EngineWriteBuffer {
  readonly writeBuffer?: readonly unknown[];
}

/** A packet as Engine.IO hands it to `packetCreate`: `data` is the encoded Socket.IO packet. */
interface CreatedPacket {
  readonly data?: { readonly length?: number };
}

const writeBufferOf = (connection: EngineConnection): readonly unknown[] | undefined =>
  (connection as unknown as EngineWriteBuffer).writeBuffer;

/** Catch-up packets of one queue, and their size. */
interface CatchUp {
  packets: number;
  bytes: number;
}

/** The limits of {@link SendBacklogLimit}. */
export interface SendBacklogLimits {
  /** Most packets waiting for a connection. */
  maxBufferedPackets: number;
  /** Most bytes of packets waiting for a connection (each packet's encoded length). */
  maxBufferedBytes: number;
  /** Catch-up packets per queue that are not counted (their bytes neither). */
  maxCatchUpPackets: number;
}

/**
 * Bounds the packets, and their bytes, waiting for each connection. Engine.IO queues every packet
 * of a client in its write buffer until the transport takes them: a WebSocket once the previous
 * batch is written to the TCP socket, long-polling when the client polls. A client that stops
 * reading, but still answers pings, makes that queue grow without end.
 *
 * The queue also grows while the server works through a burst (events the bus hands over at
 * once): the transport takes packets only once the burst yields to the event loop. So a queue
 * longer than `maxBufferedPackets`, or larger than `maxBufferedBytes`, is first only noted, and
 * the connection is closed when a packet is queued in a later turn of the event loop while that
 * queue is still waiting: it had its chance. Closing drops the queue; the client reconnects and
 * resumes from its last cursor.
 *
 * A packet's size is the length of its encoded data (the string Socket.IO built once for every
 * recipient, or a binary attachment's bytes): bytes for ASCII text, known without encoding
 * anything again. Each connection's running total of its current queue lives on its Engine.IO
 * socket, under a symbol of this limit, so a packet costs a few property reads and one write,
 * not a lookup.
 *
 * A catch-up (a replay, which a Redis bus reads page by page, or a snapshot's queue) is sent as
 * fast as it is read, and a slow client takes it over many turns: its packets, up to
 * `maxCatchUpPackets` per queue, and their bytes are not counted. Their bytes are bounded
 * instead by the one who sends them: {@link catchUp} says when a queue holds more than
 * `maxBufferedBytes` of catch-up, and a replay, or the queue sent after a snapshot, stops there
 * (closing would only make the client resume into the same replay).
 */
export class SendBacklogLimit {
  /**
   * Catch-up packets per queue. Engine.IO starts a new array each time the transport takes the
   * queue, so a count is forgotten with the packets it excused.
   */
  private readonly catchUps = new WeakMap<readonly unknown[], CatchUp>();
  /**
   * Where a connection's bytes are kept: one symbol per limit, as two `attachCallTrack` on two
   * namespaces of one connection each see every packet.
   */
  private readonly queuedBytes = Symbol('calltrack.queuedBytes');
  /** One listener for every connection: Engine.IO calls it with `this` set to its socket. */
  private readonly check: (this: EngineConnection, packet: CreatedPacket) => void;
  private readonly maxCatchUpPackets: number;
  private readonly maxBufferedBytes: number;
  private reportedNoBuffer = false;

  constructor(
    { maxBufferedPackets, maxBufferedBytes, maxCatchUpPackets }: SendBacklogLimits,
    private readonly onError: (error: unknown) => void,
  ) {
    this.maxCatchUpPackets = maxCatchUpPackets;
    this.maxBufferedBytes = maxBufferedBytes;
    const catchUps = this.catchUps;
    const queuedBytes = this.queuedBytes;
    // Queues seen over the limit, with the turn of the event loop they were seen in.
    const overLimitSince = new WeakMap<readonly unknown[], number>();
    let turn = 0;
    let turnEnding = false;
    const endTurn = (): void => {
      turn += 1;
      turnEnding = false;
    };
    // Runs before each packet is queued: a sum and two comparisons unless the queue is large.
    this.check = function (this: EngineConnection, packet: CreatedPacket): void {
      const queued = writeBufferOf(this);
      if (queued === undefined) return;
      const counter = this as unknown as Record<symbol, number>;
      // An empty queue is a new one (the transport took the last): its count starts again.
      const bytes = queued.length === 0 ? 0 : (counter[queuedBytes] as number);
      counter[queuedBytes] = bytes + (packet.data?.length ?? 0);
      if (queued.length < maxBufferedPackets && bytes < maxBufferedBytes) return;
      const catchUp = catchUps.get(queued);
      if (
        catchUp !== undefined &&
        queued.length - Math.min(catchUp.packets, maxCatchUpPackets) < maxBufferedPackets &&
        bytes - catchUp.bytes < maxBufferedBytes
      ) {
        return;
      }
      const since = overLimitSince.get(queued);
      if (since === undefined) {
        overLimitSince.set(queued, turn);
        if (!turnEnding) {
          turnEnding = true;
          // Once this turn's I/O callbacks ran: a transport that can write has taken its queue.
          setImmediate(endTurn).unref();
        }
        return;
      }
      if (since === turn) return;
      try {
        // `true` discards the queue: a plain close would wait for it to drain, which it never does.
        this.close(true);
      } catch (error) {
        onError(error);
      }
    };
  }

  /** Starts bounding a connection's queue. */
  watch(connection: EngineConnection): void {
    const queue = writeBufferOf(connection);
    if (!Array.isArray(queue)) {
      if (!this.reportedNoBuffer) {
        // An Engine.IO without `writeBuffer` turns the limit off: said once, not silently.
        this.reportedNoBuffer = true;
        this.onError(
          new Error(
            'maxBufferedPackets and maxBufferedBytes are off: this Engine.IO version keeps no writeBuffer to read the send backlog from.',
          ),
        );
      }
    } else {
      // What is queued already: counted from here on.
      (connection as unknown as Record<symbol, number>)[this.queuedBytes] = sizeOf(queue);
    }
    connection.on('packetCreate', this.check);
  }

  /** Stops bounding it. */
  unwatch(connection: EngineConnection): void {
    connection.off('packetCreate', this.check);
  }

  /**
   * Runs `send`, which queues catch-up packets for `connection`: they are not counted. True when
   * the catch-up packets still waiting in the connection's queue now weigh more than
   * `maxBufferedBytes`: the client is too far behind to be sent more of it.
   */
  catchUp(connection: EngineConnection, send: () => void): boolean {
    const before = writeBufferOf(connection);
    const length = before?.length ?? 0;
    const bytes = this.bytesOf(connection);
    send();
    const after = writeBufferOf(connection);
    if (after === undefined) return false;
    // Another array: the transport took the queue meanwhile, with some of these packets.
    const same = after === before;
    const added = same ? after.length - length : after.length;
    let catchUp = this.catchUps.get(after);
    if (added > 0) {
      const addedBytes = same ? this.bytesOf(connection) - bytes : this.bytesOf(connection);
      if (catchUp === undefined) {
        catchUp = { packets: added, bytes: addedBytes };
        this.catchUps.set(after, catchUp);
      } else if (catchUp.packets <= this.maxCatchUpPackets) {
        // Past the packets it excuses, a catch-up's bytes count as any others.
        catchUp.packets += added;
        catchUp.bytes += addedBytes;
      }
    }
    return catchUp !== undefined && catchUp.bytes > this.maxBufferedBytes;
  }

  /** The bytes of the connection's current queue. */
  private bytesOf(connection: EngineConnection): number {
    if (writeBufferOf(connection)?.length) {
      return (connection as unknown as Record<symbol, number>)[this.queuedBytes] ?? 0;
    }
    return 0;
  }
}

function sizeOf(queue: readonly unknown[]): number {
  let bytes = 0;
  for (const packet of queue) bytes += (packet as CreatedPacket).data?.length ?? 0;
  return bytes;
}
