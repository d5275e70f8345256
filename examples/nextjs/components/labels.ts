// Words for people instead of the wire's ids.

const statusLabels: Record<string, string> = {
  queued: 'Dialing',
  ringing: 'Ringing',
  'in-progress': 'Talking',
  completed: 'Completed',
  voicemail: 'Voicemail',
  busy: 'Busy',
  'no-answer': 'No answer',
  failed: 'Failed',
  canceled: 'Canceled',
};
const providerLabels: Record<string, string> = {
  twilio: 'Twilio',
  retell: 'Retell AI',
  callerdesk: 'CallerDesk',
};

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export const statusLabel = (status: string | undefined): string =>
  status === undefined ? 'Unknown' : (statusLabels[status] ?? capitalize(status));
export const providerLabel = (provider: string | undefined): string =>
  provider === undefined ? '' : (providerLabels[provider] ?? capitalize(provider));
export const branchLabel = (branchId: string | undefined): string =>
  branchId === undefined ? 'No branch' : capitalize(branchId);
