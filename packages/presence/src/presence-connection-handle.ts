import type { WheelItem } from './heartbeat-wheel';
import type { PresenceConnection } from './presence';

/** What a handle asks of the engine that made it. */
export interface PresenceHandleEngine {
  heartbeat(handle: PresenceConnectionHandle): Promise<void>;
  update(handle: PresenceConnectionHandle, data: unknown): Promise<void>;
  setAway(handle: PresenceConnectionHandle, away: boolean): Promise<void>;
  disconnect(handle: PresenceConnectionHandle, immediate: boolean): Promise<void>;
}

/**
 * A registered connection. A class, so that the methods live on the prototype and a handle
 * costs a few fields: this process may hold tens of thousands of them.
 */
export class PresenceConnectionHandle implements PresenceConnection, WheelItem {
  wheelSlot = -1;
  closed = false;
  /** Set away by the app: re-sent if the connection has to be registered again. */
  away = false;
  /** `disconnect({ immediate: true })` closed it: repeated if a register lands after it. */
  leftImmediately = false;
  /**
   * The user's state as the store last reported it with this connection's heartbeats: re-sent
   * if the connection has to be registered again, so a record the store lost (Redis restarted
   * empty) comes back with it. Undefined: none set, or not known yet.
   */
  state: string | undefined = undefined;
  /**
   * When `state` was set, as the store reported it: the store prefers the newest state the
   * user's connections bring back, whichever registers first. Undefined: not reported.
   */
  stateAt: number | undefined = undefined;

  constructor(
    private readonly engine: PresenceHandleEngine,
    readonly tenantId: string,
    readonly userId: string,
    readonly connectionId: string,
    /**
     * Names this life of the connection id in the store: a reused id's earlier handle closing
     * late does not end this one.
     */
    readonly token: string,
    /** The data as JSON, re-sent if the connection has to be registered again. */
    public data: string | undefined,
  ) {}

  heartbeat(): Promise<void> {
    return this.engine.heartbeat(this);
  }

  update(data: unknown): Promise<void> {
    return this.engine.update(this, data);
  }

  setAway(away: boolean): Promise<void> {
    return this.engine.setAway(this, away);
  }

  disconnect(options: { immediate?: boolean } = {}): Promise<void> {
    return this.engine.disconnect(this, options.immediate === true);
  }
}
