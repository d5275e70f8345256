import type { ProviderApiOptions } from '@calltrack/simulator';

/** A lead as the dialer's `POST /dialer/leads` takes it (the user comes from the session). */
export interface DemoLead {
  leadId: string;
  phoneNumber: string;
  timeZone: string;
}

/** A demo list: leads and the do-not-call numbers the demo's dialer knows. */
export interface DemoLeadList {
  leads: DemoLead[];
  /** Why each lead is in the list: `call`, or the skip reason the dialer should give. */
  expected: Record<string, 'call' | 'outside_calling_window' | 'do_not_call' | 'invalid_phone'>;
}

/** The number on the demo's do-not-call list (one lead of the demo list has it). */
export const demoDoNotCallNumber = '+14155550299';

// One zone per UTC offset (roughly), so that at any moment some leads are inside the default
// calling window (09:00–21:00 in the lead's zone) and some outside.
const zones = [
  'Pacific/Pago_Pago',
  'Pacific/Honolulu',
  'America/Anchorage',
  'America/Los_Angeles',
  'America/Denver',
  'America/Chicago',
  'America/New_York',
  'America/Halifax',
  'America/Sao_Paulo',
  'Atlantic/South_Georgia',
  'Atlantic/Azores',
  'Europe/London',
  'Europe/Berlin',
  'Europe/Athens',
  'Europe/Moscow',
  'Asia/Dubai',
  'Asia/Karachi',
  'Asia/Kolkata',
  'Asia/Dhaka',
  'Asia/Bangkok',
  'Asia/Singapore',
  'Asia/Tokyo',
  'Australia/Brisbane',
  'Pacific/Noumea',
  'Pacific/Auckland',
  'Pacific/Kiritimati',
];

/** Minutes since local midnight in `timeZone` at `now`. */
function localMinutes(now: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  return value('hour') * 60 + value('minute');
}

// A margin of 30 minutes either side of the window's edges: a run started now stays on the
// same side of them.
const isWellInside = (minutes: number) => minutes >= 9 * 60 + 30 && minutes < 20 * 60 + 30;
const isWellOutside = (minutes: number) => minutes >= 21 * 60 + 30 || minutes < 8 * 60 + 30;

/**
 * The leads the leads page's "Load demo leads" adds for the signed-in user: five to call (in
 * zones where it is daytime at `now`), one where it is night, one on the do-not-call list and one
 * with a malformed number, so every kind of skip shows. Numbers are in the 555 range.
 */
export function createDemoLeadList(now: Date): DemoLeadList {
  const inside = zones.filter((zone) => isWellInside(localMinutes(now, zone)));
  const outside = zones.filter((zone) => isWellOutside(localMinutes(now, zone)));
  const daytime = (index: number) => inside[index % inside.length] ?? 'UTC';
  const leads: DemoLead[] = [];
  const expected: DemoLeadList['expected'] = {};
  for (let index = 0; index < 5; index += 1) {
    const leadId = `demo-lead-${index + 1}`;
    leads.push({ leadId, phoneNumber: `+1415555020${index + 1}`, timeZone: daytime(index) });
    expected[leadId] = 'call';
  }
  leads.push({
    leadId: 'demo-lead-6',
    phoneNumber: '+14155550206',
    timeZone: outside[0] ?? 'UTC',
  });
  expected['demo-lead-6'] = 'outside_calling_window';
  leads.push({ leadId: 'demo-lead-7', phoneNumber: demoDoNotCallNumber, timeZone: daytime(1) });
  expected['demo-lead-7'] = 'do_not_call';
  leads.push({ leadId: 'demo-lead-8', phoneNumber: '555-0199', timeZone: daytime(2) });
  expected['demo-lead-8'] = 'invalid_phone';
  return { leads, expected };
}

const isDemoLeadNumber = (to: string | undefined) => to?.startsWith('+141555502') === true;

/**
 * How the simulated provider API plays the demo leads' calls: they ring, are answered and
 * end after a short talk, so a run is watched to the end in well under a minute. Other calls
 * (click-to-call) keep the simulator's mix of outcomes.
 */
export const demoLeadCalls: Pick<ProviderApiOptions, 'outcome' | 'talkDurationMs'> = {
  outcome: (request) => (isDemoLeadNumber(request.to) ? 'completed' : undefined),
  talkDurationMs: (request) => (isDemoLeadNumber(request.to) ? 6_000 : undefined),
};
