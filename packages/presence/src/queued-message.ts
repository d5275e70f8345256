/** A message waiting in a user's offline queue, or claimed for delivery. */
export interface QueuedMessage {
  /** Position in the user's queue: grows by one per `send`. */
  sequence: number;
  /** The message id (`send`'s `messageId`, or a random UUID). */
  messageId: string;
  /** When `send` was called (ms). */
  sentAt: number;
  /** The message as JSON text. */
  body: string;
}

/**
 * Messages claimed for delivery: the claimer publishes them in order, then acknowledges with
 * `token`. While the claim's lease runs nobody else delivers that user's messages.
 */
export interface MessageDelivery {
  /** Names this claim (its lease deadline); an acknowledgement with another token is not its. */
  token: number;
  messages: QueuedMessage[];
}
