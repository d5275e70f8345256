// Formatting shared by the console's pages: labels, masked numbers, durations, machine answers.

export const statusLabels = {
  queued: 'Dialing',
  ringing: 'Ringing',
  'in-progress': 'Live',
  completed: 'Completed',
  busy: 'Busy',
  'no-answer': 'No answer',
  failed: 'Failed',
  canceled: 'Canceled',
  machine: 'Voicemail',
};
const providerLabels = { twilio: 'Twilio', retell: 'Retell AI', callerdesk: 'CallerDesk' };

/** Same rule as `maskPhoneNumber` in @calltrack/core: keep the first 2 and last 3 digits. */
export function maskPhoneNumber(value) {
  if (!value) return '';
  const digitCount = value.replace(/\D/g, '').length;
  const keepHead = digitCount >= 7 ? 2 : 0;
  const keepTail = digitCount >= 7 ? 3 : Math.min(2, Math.max(0, digitCount - 1));
  let seen = 0;
  let masked = '';
  for (const character of value) {
    if (character >= '0' && character <= '9') {
      masked += seen < keepHead || seen >= digitCount - keepTail ? character : '•';
      seen += 1;
    } else {
      masked += /[a-z]/i.test(character) ? '•' : character;
    }
  }
  return masked;
}

/** The customer's number: the caller on inbound calls, the callee on outbound ones. */
export function contactNumber(call) {
  const number = call.direction === 'inbound' ? call.from : (call.to ?? call.from);
  return number ? maskPhoneNumber(number) : 'Web call';
}

export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`
    : `${minutes}:${seconds}`;
}

export function formatTime(iso) {
  const time = Date.parse(iso ?? '');
  return Number.isNaN(time)
    ? '—'
    : new Date(time).toLocaleTimeString([], {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
}

export const titleCase = (text) => (text ? text.charAt(0).toUpperCase() + text.slice(1) : '—');
export const branchLabel = (branchId) => (branchId ? titleCase(branchId) : '—');
export const providerLabel = (provider) => providerLabels[provider] ?? titleCase(provider);

/**
 * True when a machine took the call: Twilio's AMD (`answeredBy` machine_start, machine_end_beep…,
 * fax) or Retell reaching voicemail. Such a call "connected", but nobody talked.
 */
export function answeredByMachine(call) {
  const answeredBy = call.answeredBy ?? '';
  return (
    answeredBy.startsWith('machine') ||
    answeredBy === 'fax' ||
    call.disconnectionReason === 'voicemail_reached'
  );
}

/** The status to show: `machine` for a call a machine answered, else the tracker's status. */
export function displayStatus(call) {
  if ((call.status === 'completed' || call.status === 'in-progress') && answeredByMachine(call)) {
    return 'machine';
  }
  return call.status;
}

export const statusLabel = (status) => statusLabels[status] ?? titleCase(status);

export function setPill(element, status) {
  element.textContent = statusLabel(status);
  element.className = `pill status-${status ?? 'unknown'}`;
}

/** Talk time of an ended call as the console shows it (never a talk time for a machine). */
export function endedDuration(call) {
  if (answeredByMachine(call)) return 'voicemail';
  if (call.durationMs === undefined) return '—';
  if (call.durationMs === 0 && !call.answeredAt) return 'not answered';
  return formatDuration(call.durationMs);
}

/** Milliseconds since the epoch of a call's start (provider time), for sorting newest first. */
export function startTime(call) {
  const time = Date.parse(call.startedAt ?? call.createdAt ?? '');
  return Number.isNaN(time) ? 0 : time;
}

/**
 * A query parameter's number of milliseconds: above 0 and at most `max` (default 10 minutes), else
 * `fallback`. Timers take at most 2^31 - 1 ms; a longer one fires at once.
 */
export function positiveNumber(value, fallback, max = 600_000) {
  const number = Number(value);
  return value !== null && Number.isFinite(number) && number > 0 && number <= max
    ? number
    : fallback;
}

/** A JSON request that throws the API's error message on a non-2xx answer. */
export async function requestJson(url, init = {}) {
  const response = await fetch(url, {
    ...init,
    headers: {
      accept: 'application/json',
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const error = new Error(body?.error?.message ?? `HTTP ${response.status}`);
    error.status = response.status;
    error.code = body?.error?.code;
    throw error;
  }
  return body;
}
