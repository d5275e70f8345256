import type { PresenceStatus } from '@calltrack/core';

/**
 * The timings the property tests run with (ms): multiples of 200, like most clock steps, so
 * runs land exactly on deadlines.
 */
export const modelTimings = {
  heartbeatIntervalMs: 1000,
  awayAfterMs: 1600,
  connectionTtlMs: 2400,
  leaveDelayMs: 400,
} as const;

interface ModelConnection {
  id: string;
  userId: string;
  connectedAt: number;
  expiresAt: number;
  idleAt: number;
  away: boolean;
  leaving: boolean;
  data: string | undefined;
}

/** What the model expects one `presence.*` event to say. */
export interface ModelEvent {
  type: string;
  /** When it was decided (the event's `occurredAt`), ms. */
  at: number;
  status: PresenceStatus;
  version: number;
  state: string;
  /** `id:status[:leaving]` of each connection, oldest first. */
  connections: string[];
}

interface ModelUser {
  status: PresenceStatus;
  version: number;
  state: string | undefined;
}

/**
 * A plain model of presence, written from the README's rules (not from the implementation):
 * connections with deadlines, statuses decided when a user is touched or swept, one event per
 * decided change. The property tests run random operations through it and through real engines
 * and compare every event.
 */
export class PresenceModel {
  time: number;
  readonly connections = new Map<string, ModelConnection>();
  readonly users = new Map<string, ModelUser>();
  readonly events = new Map<string, ModelEvent[]>();

  constructor(start: number) {
    this.time = start;
  }

  /** A new connection, or the re-registration of a known id (after it was swept). */
  connect(userId: string, id: string, data: string | undefined, away: boolean): void {
    const existing = this.connections.get(id);
    let explicit = false;
    if (existing && existing.expiresAt > this.time) {
      explicit = existing.data !== data;
      existing.leaving = false;
      existing.away = away;
      existing.data = data;
      this.refresh(existing);
    } else {
      const connection: ModelConnection = {
        id,
        userId,
        connectedAt: this.time,
        expiresAt: 0,
        idleAt: 0,
        away,
        leaving: false,
        data,
      };
      this.refresh(connection);
      this.connections.set(id, connection);
    }
    this.settle(userId, explicit);
  }

  /** A heartbeat from a live handle: returns false when the handle must register again. */
  heartbeat(id: string): boolean {
    const connection = this.connections.get(id);
    if (!connection) return false;
    const user = this.users.get(connection.userId);
    if (user?.status === 'online' && !connection.away && connection.expiresAt > this.time) {
      this.refresh(connection);
      return true;
    }
    if (connection.expiresAt <= this.time) connection.connectedAt = this.time;
    this.refresh(connection);
    this.settle(connection.userId, false);
    return true;
  }

  /** `update` / `setAway` on a live connection: false when the handle must register again. */
  change(id: string, change: { data?: string; away?: boolean }): boolean {
    const connection = this.connections.get(id);
    if (!connection || connection.expiresAt <= this.time || connection.leaving) return false;
    let explicit = false;
    if ('data' in change) {
      explicit = connection.data !== change.data;
      connection.data = change.data;
    }
    if (change.away !== undefined) connection.away = change.away;
    this.settle(connection.userId, explicit);
    return true;
  }

  disconnect(id: string, immediate: boolean): void {
    const connection = this.connections.get(id);
    if (!connection || connection.expiresAt <= this.time) return;
    if (immediate) this.connections.delete(id);
    else if (!connection.leaving) {
      connection.leaving = true;
      connection.expiresAt = this.time + modelTimings.leaveDelayMs;
    }
    this.settle(connection.userId, false);
  }

  setState(userId: string, state: string): void {
    const user = this.userOf(userId);
    const explicit = user.state !== state;
    user.state = state;
    this.settle(userId, explicit);
  }

  /** A read or a sweep: every known user is settled (a user with no deadline passed changes nothing). */
  sweep(): void {
    for (const userId of this.users.keys()) this.settle(userId, false);
  }

  read(userId: string): void {
    if (this.users.has(userId)) this.settle(userId, false);
  }

  statusOf(userId: string): PresenceStatus {
    return this.users.get(userId)?.status ?? 'offline';
  }

  private refresh(connection: ModelConnection): void {
    connection.expiresAt = this.time + modelTimings.connectionTtlMs;
    connection.idleAt = this.time + modelTimings.awayAfterMs;
  }

  private userOf(userId: string): ModelUser {
    let user = this.users.get(userId);
    if (!user) {
      // A record's version starts at the time it was made (createPresenceUserState).
      user = { status: 'offline', version: this.time, state: undefined };
      this.users.set(userId, user);
    }
    return user;
  }

  private settle(userId: string, explicit: boolean): void {
    const user = this.userOf(userId);
    const mine = [...this.connections.values()].filter((connection) => {
      if (connection.userId !== userId) return false;
      if (connection.expiresAt > this.time) return true;
      this.connections.delete(connection.id);
      return false;
    });
    const active = (connection: ModelConnection) =>
      !connection.away && connection.idleAt > this.time;
    const status: PresenceStatus = mine.some(active)
      ? 'online'
      : mine.length > 0
        ? 'away'
        : 'offline';
    if (status === user.status && !explicit) return;
    const type = status === user.status ? 'presence.updated' : `presence.${status}`;
    user.status = status;
    user.version += 1;
    const events = this.events.get(userId) ?? [];
    events.push({
      type,
      at: this.time,
      status,
      version: user.version,
      state: user.state ?? 'available',
      connections: mine
        .sort((a, b) => a.connectedAt - b.connectedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map(
          (connection) =>
            `${connection.id}:${active(connection) ? 'online' : 'away'}${connection.leaving ? ':leaving' : ''}`,
        ),
    });
    this.events.set(userId, events);
  }
}
