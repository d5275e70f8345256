/** A lead of the demo campaign: someone the agent calls. */
export interface DemoLead {
  id: string;
  name: string;
  company: string;
  /** E.164. Personal data: the page shows it masked, and sends it only to place the call. */
  phone: string;
  /** The provider and line the campaign calls this lead through. */
  provider: 'twilio' | 'retell';
  line: string;
}

/**
 * The campaign's work list. A real app reads its leads from its CRM or from
 * `@calltrack/dialer`'s lead store; numbers in 555-01xx are reserved for fiction.
 */
export const demoLeads: readonly DemoLead[] = Object.freeze([
  {
    id: 'lead-1',
    name: 'Avery Chen',
    company: 'Northwind Dental',
    phone: '+14155550121',
    provider: 'twilio',
    line: '+14155550100',
  },
  {
    id: 'lead-2',
    name: 'Jordan Patel',
    company: 'Harbor Physio',
    phone: '+14155550122',
    provider: 'twilio',
    line: '+14155550101',
  },
  {
    id: 'lead-3',
    name: 'Sam Okafor',
    company: 'Bayside Realty',
    phone: '+14155550133',
    provider: 'retell',
    line: '+14155550110',
  },
  {
    id: 'lead-4',
    name: 'Riley Gomez',
    company: 'Summit Insurance',
    phone: '+14155550144',
    provider: 'twilio',
    line: '+14155550100',
  },
  {
    id: 'lead-5',
    name: 'Morgan Lee',
    company: 'Cedar Clinic',
    phone: '+14155550155',
    provider: 'retell',
    line: '+14155550111',
  },
] satisfies DemoLead[]);
