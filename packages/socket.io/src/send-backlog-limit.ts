import type { Socket } from 'socket.io';

/** A client's Engine.IO socket (`socket.conn`), shared by its namespaces. */
export type EngineConnection = Socket['conn'];

/**
 * One connection's queue, counted from Engine.IO's documented events: `packetCreate` comes before
 * each packet joins the queue, `flush` when the transport takes the whole queue. (Its
 * `writeBuffer` holds the same packets, but is private in Engine.IO's types.)
 */
interface PacketQueue {
  /** Packets queued and not taken yet. */
  queued: number;
  /** Of those, packets of a catch-up (not counted against the limit). */
  catchUp: number;
  /** Bumped each time the transport takes the queue. */
  taken: number;
  /** The turn of the event loop the queue was first seen over the limit in. */
  overLimitSince: number | undefined;
  /** Namespaces of the connection being watched (they share its queue). */
  watchers: number;
}

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
  private readonly queues = new WeakMap<EngineConnection, PacketQueue>();
  /** One listener for every connection: Engine.IO calls it with `this` set to its socket. */
  private readonly check: (this: EngineConnection) => void;
  private readonly taken: (this: EngineConnection) => void;

  constructor(
    maxBufferedPackets: number,
    maxCatchUpPackets: number,
    onError: (error: unknown) => void,
  ) {
    const queues = this.queues;
    let turn = 0;
    let turnEnding = false;
    const endTurn = (): void => {
      turn += 1;
      turnEnding = false;
    };
    // Runs before each packet is queued: one comparison unless the queue is already long.
    this.check = function (this: EngineConnection): void {
      const queue = queues.get(this);
      if (queue === undefined) return;
      const queued = queue.queued;
      queue.queued += 1;
      if (queued < maxBufferedPackets) return;
      const excused = Math.min(queue.catchUp, maxCatchUpPackets);
      if (queued - excused < maxBufferedPackets) return;
      const since = queue.overLimitSince;
      if (since === undefined) {
        queue.overLimitSince = turn;
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
    this.taken = function (this: EngineConnection): void {
      const queue = queues.get(this);
      if (queue === undefined) return;
      queue.queued = 0;
      queue.catchUp = 0;
      queue.taken += 1;
      queue.overLimitSince = undefined;
    };
  }

  /** Starts bounding a connection's queue. */
  watch(connection: EngineConnection): void {
    const queue = this.queues.get(connection);
    if (queue !== undefined) {
      queue.watchers += 1;
      return;
    }
    this.queues.set(connection, {
      queued: 0,
      catchUp: 0,
      taken: 0,
      overLimitSince: undefined,
      watchers: 1,
    });
    connection.on('packetCreate', this.check);
    connection.on('flush', this.taken);
  }

  /** Stops bounding it. */
  unwatch(connection: EngineConnection): void {
    const queue = this.queues.get(connection);
    if (queue === undefined) return;
    queue.watchers -= 1;
    if (queue.watchers > 0) return;
    this.queues.delete(connection);
    connection.off('packetCreate', this.check);
    connection.off('flush', this.taken);
  }

  /** Runs `send`, which queues catch-up packets for `connection`: they are not counted. */
  catchUp(connection: EngineConnection, send: () => void): void {
    const queue = this.queues.get(connection);
    if (queue === undefined) {
      send();
      return;
    }
    const { queued, taken } = queue;
    send();
    // The transport took the queue meanwhile, with some of these packets: count what is left.
    const added = queue.taken === taken ? queue.queued - queued : queue.queued;
    if (added > 0) queue.catchUp += added;
  }
}
