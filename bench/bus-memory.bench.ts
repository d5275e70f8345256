// Memory bus: publish → deliver throughput with 1, 100 and 1,000 subscribers, against a bare
// EventEmitter fan-out into the same kind of async-iterator consumers, measured in the same run;
// with plain events (validated on publish) and with sealed events (validated once, beforehand,
// by sealCallEvent: the bus skips the schema).
import { EventEmitter, on } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createMemoryBus } from '@calltrack/bus';
import { type CallEvent, sealCallEvent } from '@calltrack/core';
import { benchEvent } from './lib/bench-event';
import { perSecond, printTable, ratio } from './lib/report';

async function consume(iterator: AsyncIterable<unknown>, count: number): Promise<void> {
  let seen = 0;
  for await (const _ of iterator) {
    seen += 1;
    if (seen === count) return;
  }
}

let run = 0;

async function runBus(subscribers: number, count: number, sealed: boolean): Promise<number> {
  run += 1;
  const plain = Array.from({ length: count }, (_, index) =>
    benchEvent(index, 'bench-tenant', `r${run}`),
  );
  const events: CallEvent[] = sealed ? plain.map((event) => sealCallEvent(event)) : plain;
  const bus = createMemoryBus({ maxBufferedMessages: count + 10, history: { maxEvents: count } });
  const readers = Array.from({ length: subscribers }, () =>
    consume(bus.subscribe({ tenantId: 'bench-tenant' }), count),
  );
  const started = performance.now();
  for (let index = 0; index < count; index += 1) await bus.publish(events[index]!);
  await Promise.all(readers);
  const elapsed = performance.now() - started;
  await bus.close();
  return elapsed;
}

async function runEmitter(subscribers: number, count: number): Promise<number> {
  const events = Array.from({ length: count }, (_, index) => benchEvent(index));
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const readers = Array.from({ length: subscribers }, () => {
    const controller = new AbortController();
    const iterator = on(emitter, 'event', { signal: controller.signal });
    return consume(iterator, count).then(() => controller.abort());
  });
  const started = performance.now();
  for (let index = 0; index < count; index += 1) {
    emitter.emit('event', events[index]);
    await Promise.resolve();
  }
  await Promise.all(readers);
  return performance.now() - started;
}

const rows = [];
for (const [subscribers, count] of [
  [1, 50_000],
  [100, 2_000],
  [1000, 300],
] as const) {
  await runBus(subscribers, Math.min(count, 500), false); // warm-up
  await runBus(subscribers, Math.min(count, 500), true);
  const busMs = await runBus(subscribers, count, false);
  const sealedMs = await runBus(subscribers, count, true);
  const emitterMs = await runEmitter(subscribers, count);
  const deliveries = subscribers * count;
  rows.push({
    subscribers,
    events: count,
    'bus events/s': perSecond(count, busMs),
    'sealed events/s': perSecond(count, sealedMs),
    'EventEmitter deliveries/s': perSecond(deliveries, emitterMs),
    'bus deliveries/s': perSecond(deliveries, busMs),
    'ratio bus / EventEmitter': ratio(emitterMs, busMs),
    'ratio sealed / EventEmitter': ratio(emitterMs, sealedMs),
  });
}
printTable(
  'Memory bus publish → deliver (validated publish, history, filters) vs bare EventEmitter',
  rows,
);
