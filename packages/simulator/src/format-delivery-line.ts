import { maskPhoneNumber } from '@calltrack/core';
import type { SimulatorDelivery } from './simulator-delivery';

/**
 * One line of CLI output for a delivery, with masked phone numbers:
 * `12:00:01.234 twilio     CA1f2e3d4c5b… status:ringing      +14******100 → +14******199  200   3 ms`.
 *
 * @internal
 */
export function formatDeliveryLine(delivery: SimulatorDelivery): string {
  const time = new Date(delivery.sentAt);
  const clock = `${time.toTimeString().slice(0, 8)}.${String(time.getMilliseconds()).padStart(3, '0')}`;
  const callId = delivery.callId.length > 13 ? `${delivery.callId.slice(0, 12)}…` : delivery.callId;
  const flags = [
    delivery.retry > 0 ? `retry ${delivery.retry}` : '',
    delivery.duplicate ? 'duplicate' : '',
    delivery.reordered ? 'out-of-order' : '',
    delivery.willRetry ? 'will retry' : '',
  ]
    .filter((flag) => flag !== '')
    .join(' ');
  const status = delivery.status === 0 ? 'ERR' : String(delivery.status);
  return [
    clock,
    delivery.provider.padEnd(10),
    callId.padEnd(17),
    delivery.kind.padEnd(24),
    `${maskPhoneNumber(delivery.from)} → ${maskPhoneNumber(delivery.to)}`.padEnd(31),
    status.padStart(3),
    `${Math.round(delivery.ms)} ms`.padStart(7),
    flags,
  ]
    .join(' ')
    .trimEnd();
}

/** The delivery as one JSON line (`--json`), with masked phone numbers and no response body. @internal */
export function formatDeliveryJson(delivery: SimulatorDelivery): string {
  const { response: _response, ...rest } = delivery;
  return JSON.stringify({
    ...rest,
    from: maskPhoneNumber(delivery.from),
    to: maskPhoneNumber(delivery.to),
  });
}
