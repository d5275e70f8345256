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

const writeBufferOf = (connection: EngineConnection): readonly unknown[] | undefined =>
  (connection as unknown as EngineWriteBuffer).writeBuffer;

/**
 * Bounds the packets waiting for each connection. Engine.IO queues every packet of a client in
 * its write buffer until the transport takes them: a WebSocket once the previous batch is
 * written to the TCP socket, long-polling when the client polls. A client that stops reading,
 * but still answers pings, makes that queue grow without end.
 *
 * The queue also grows while the server works through a burst (events the bus hands over at
 * once): the transport takes packets only once the burst yields to the event loop. So a queue
 * longer than `maxBufferedPackets` is first only noted, and the connection is closed when a
 * packet is queued in a later turn of the event loop while that queue is still waiting: it had
 * its chance. Closing drops the queue; the client reconnects and resumes from its last cursor.
 *
 * A catch-up (a replay, which a Redis bus reads page by page, or a snapshot's queue) is sent as
 * fast as it is read, and a slow client takes it over many turns: its packets, up to
 * `maxCatchUpPackets` per queue, are not counted.
 */
export class SendBacklogLimit {
  /**
   * Catch-up packets per queue. Engine.IO starts a new array each time the transport takes the
   * queue, so a count is forgotten with the packets it excused.
   */
  private readonly catchUpPackets = new WeakMap<readonly unknown[], number>();
  /** One listener for every connection: Engine.IO calls it with `this` set to its socket. */
  private readonly check: (this: EngineConnection) => void;
  private reportedNoBuffer = false;

  constructor(
    maxBufferedPackets: number,
    maxCatchUpPackets: number,
    private readonly onError: (error: unknown) => void,
  ) {
    const catchUpPackets = this.catchUpPackets;
    // Queues seen over the limit, with the turn of the event loop they were seen in.
    const overLimitSince = new WeakMap<readonly unknown[], number>();
    let turn = 0;
    let turnEnding = false;
    const endTurn = (): void => {
      turn += 1;
      turnEnding = false;
    };
    // Runs before each packet is queued: one comparison unless the queue is already long.
    this.check = function (this: EngineConnection): void {
      const queued = writeBufferOf(this);
      if (queued === undefined || queued.length < maxBufferedPackets) return;
      const excused = Math.min(catchUpPackets.get(queued) ?? 0, maxCatchUpPackets);
      if (queued.length - excused < maxBufferedPackets) return;
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
    if (!this.reportedNoBuffer && !Array.isArray(writeBufferOf(connection))) {
      // An Engine.IO without `writeBuffer` turns the limit off: said once, not silently.
      this.reportedNoBuffer = true;
      this.onError(
        new Error(
          'maxBufferedPackets is off: this Engine.IO version keeps no writeBuffer to read the send backlog from.',
        ),
      );
    }
    connection.on('packetCreate', this.check);
  }

  /** Stops bounding it. */
  unwatch(connection: EngineConnection): void {
    connection.off('packetCreate', this.check);
  }

  /** Runs `send`, which queues catch-up packets for `connection`: they are not counted. */
  catchUp(connection: EngineConnection, send: () => void): void {
    const before = writeBufferOf(connection);
    const length = before?.length ?? 0;
    send();
    const after = writeBufferOf(connection);
    if (after === undefined) return;
    // Another array: the transport took the queue meanwhile, with some of these packets.
    const added = after === before ? after.length - length : after.length;
    if (added > 0) this.catchUpPackets.set(after, (this.catchUpPackets.get(after) ?? 0) + added);
  }
}
