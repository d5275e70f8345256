/**
 * A byte stream of one chunk: what a buffered `Request` or `Response` hands out when someone asks
 * for its `body` stream.
 * @internal
 */
export function singleChunkStream(bytes: Uint8Array): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  }) as ReadableStream<Uint8Array<ArrayBuffer>>;
}
