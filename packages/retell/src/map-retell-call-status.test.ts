import { describe, expect, it } from 'vitest';
import { mapRetellCallStatus } from './map-retell-call-status';

const connected = { call_status: 'ended', start_timestamp: 1714608475945, duration_ms: 15791 };
const notConnected = { call_status: 'not_connected', duration_ms: 0 };

describe('mapRetellCallStatus', () => {
  it.each([
    ['dial_busy', 'busy'],
    ['user_declined', 'busy'],
    ['dial_no_answer', 'no-answer'],
    ['dial_failed', 'failed'],
    ['invalid_destination', 'failed'],
    ['telephony_provider_permission_denied', 'failed'],
    ['telephony_provider_unavailable', 'failed'],
    ['sip_routing_error', 'failed'],
    ['marked_as_spam', 'failed'],
    ['concurrency_limit_reached', 'failed'],
    ['no_concurrency_fallback', 'failed'],
    ['no_valid_payment', 'failed'],
    ['registered_call_timeout', 'failed'],
    ['error_llm_websocket_open', 'failed'],
    ['error_llm_websocket_lost_connection', 'failed'],
    ['error_no_audio_received', 'failed'],
    ['error_asr', 'failed'],
    ['error_retell', 'failed'],
    ['error_unknown', 'failed'],
    ['error_user_not_joined', 'failed'],
  ])('maps the failure %s to %s', (reason, status) => {
    expect(mapRetellCallStatus({ ...notConnected, disconnection_reason: reason })).toBe(status);
  });

  it.each([
    'user_hangup',
    'agent_hangup',
    'call_transfer',
    'voicemail_reached',
    'ivr_reached',
    'inactivity',
    'max_duration_reached',
    'scam_detected',
    'transfer_bridged',
    'transfer_cancelled',
    'call_take_over',
  ])('maps the normal ending %s to completed', (reason) => {
    expect(mapRetellCallStatus({ ...connected, disconnection_reason: reason })).toBe('completed');
  });

  it('maps manual_stopped by whether the call connected', () => {
    expect(mapRetellCallStatus({ ...connected, disconnection_reason: 'manual_stopped' })).toBe(
      'completed',
    );
    expect(mapRetellCallStatus({ ...notConnected, disconnection_reason: 'manual_stopped' })).toBe(
      'canceled',
    );
  });

  it('falls back on whether the call connected for an unknown reason', () => {
    expect(mapRetellCallStatus({ ...connected, disconnection_reason: 'brand_new_reason' })).toBe(
      'completed',
    );
    expect(mapRetellCallStatus({ ...notConnected, disconnection_reason: 'brand_new_reason' })).toBe(
      'failed',
    );
  });

  it('maps call_status without a reason', () => {
    expect(mapRetellCallStatus({ call_status: 'registered' })).toBe('queued');
    expect(mapRetellCallStatus({ call_status: 'ongoing' })).toBe('in-progress');
    expect(mapRetellCallStatus({ call_status: 'error' })).toBe('failed');
    expect(mapRetellCallStatus({ call_status: 'not_connected' })).toBe('failed');
    expect(mapRetellCallStatus({ call_status: 'ended', start_timestamp: 1 })).toBe('completed');
    expect(mapRetellCallStatus({ call_status: 'ended' })).toBe('failed');
    expect(mapRetellCallStatus({})).toBe('failed');
    expect(mapRetellCallStatus({ disconnection_reason: '', duration_ms: 10 })).toBe('completed');
  });
});
