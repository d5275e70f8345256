import type { ServerResponse } from 'node:http';
import type { ClientDisconnect } from './node-request';

/**
 * Tells when the client went away before the response was complete. Listens only once someone
 * asks (the request's `signal`): most webhook handlers never do. A class, not an object literal
 * with a getter: it is made for every request, and a literal's getter is defined at run time
 * each time.
 * @internal
 */
export class NodeClientDisconnect implements ClientDisconnect {
  readonly #outgoing: ServerResponse;

  constructor(outgoing: ServerResponse) {
    this.#outgoing = outgoing;
  }

  get disconnected(): boolean {
    return this.#outgoing.destroyed && !this.#outgoing.writableFinished;
  }

  onDisconnect(run: () => void): void {
    const outgoing = this.#outgoing;
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) run();
    });
  }
}
