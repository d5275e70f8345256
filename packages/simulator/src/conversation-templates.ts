/** One turn of a scripted conversation; `{customer}`, `{agent}` and `{company}` are filled in. @internal */
export interface ConversationTurn {
  role: 'agent' | 'user';
  content: string;
}

/** A short conversation with the analysis Retell would write about it. @internal */
export interface ConversationTemplate {
  turns: readonly ConversationTurn[];
  summary: string;
  successful: boolean;
  sentiment: 'Positive' | 'Neutral' | 'Negative' | 'Unknown';
  custom: Readonly<Record<string, boolean | string>>;
}

const agent = (content: string): ConversationTurn => ({ role: 'agent', content });
const user = (content: string): ConversationTurn => ({ role: 'user', content });

/** Conversations of an AI receptionist answering inbound calls. @internal */
export const inboundConversations: readonly ConversationTemplate[] = [
  {
    turns: [
      agent('Thank you for calling {company}, this is {agent}. How can I help you today?'),
      user("Hi, I'd like to book an appointment for next week."),
      agent('Of course. May I have your name, please?'),
      user("It's {customer}."),
      agent('Thanks, {customer}. I have Tuesday at 10 am or Thursday at 3 pm. Which works better?'),
      user('Thursday at 3 works for me.'),
      agent("You're booked for Thursday at 3 pm. You'll get a text confirmation shortly."),
      user('Perfect, thank you!'),
    ],
    summary: '{customer} called to book an appointment and was booked for Thursday at 3 pm.',
    successful: true,
    sentiment: 'Positive',
    custom: { appointment_booked: true, callback_requested: false },
  },
  {
    turns: [
      agent('Thank you for calling {company}, this is {agent}. How can I help?'),
      user('What are your opening hours on Saturday?'),
      agent("On Saturdays we're open from 9 am to 1 pm."),
      user('And do I need an appointment?'),
      agent('Walk-ins are welcome, but booking ahead keeps the wait short. Shall I book you in?'),
      user('Not right now, thanks. Bye.'),
    ],
    summary: 'The caller asked about Saturday opening hours and walk-ins; nothing was booked.',
    successful: true,
    sentiment: 'Neutral',
    custom: { appointment_booked: false, callback_requested: false },
  },
  {
    turns: [
      agent('Thank you for calling {company}, this is {agent}. How can I help you today?'),
      user("I was charged twice for my last visit and I'm not happy about it."),
      agent("I'm sorry about that, {customer}. I'll ask our billing team to look into it today."),
      user('Can someone call me back?'),
      agent("Yes, billing will call you back on this number before 5 pm. I've noted the details."),
      user('Okay. Thanks.'),
    ],
    summary: '{customer} reported a double charge; a billing callback was promised for today.',
    successful: true,
    sentiment: 'Negative',
    custom: { appointment_booked: false, callback_requested: true },
  },
  {
    turns: [
      agent('Thank you for calling {company}, this is {agent}. How can I help you today?'),
      user('I need to move my appointment on Friday.'),
      agent('No problem, {customer}. Would Monday at 11 am suit you?'),
      user('Monday at 11 is fine.'),
      agent("Done: you're now booked for Monday at 11 am. Anything else I can help with?"),
      user("No, that's all. Thanks!"),
    ],
    summary: "{customer} moved Friday's appointment to Monday at 11 am.",
    successful: true,
    sentiment: 'Positive',
    custom: { appointment_booked: true, callback_requested: false },
  },
];

/** Conversations of an AI agent calling customers. @internal */
export const outboundConversations: readonly ConversationTemplate[] = [
  {
    turns: [
      agent('Hi {customer}, this is {agent} from {company}. Is now a good time?'),
      user("Yes, sure, what's up?"),
      agent("I'm calling to confirm your appointment on Friday at 10 am."),
      user('Friday works. See you then!'),
      agent("Great, you're confirmed. Have a nice day!"),
    ],
    summary: "The agent confirmed {customer}'s appointment for Friday at 10 am.",
    successful: true,
    sentiment: 'Positive',
    custom: { appointment_confirmed: true, callback_requested: false },
  },
  {
    turns: [
      agent('Hi {customer}, this is {agent} from {company}. Do you have a minute?'),
      user("I'm driving right now. Can you call later?"),
      agent('Of course. Would tomorrow morning be better?'),
      user('Yes, after 10.'),
      agent("I'll call you tomorrow after 10 am. Drive safely!"),
    ],
    summary: '{customer} was busy and asked for a callback tomorrow after 10 am.',
    successful: false,
    sentiment: 'Neutral',
    custom: { appointment_confirmed: false, callback_requested: true },
  },
  {
    turns: [
      agent('Hi {customer}, this is {agent} from {company}. I have a quick reminder for you.'),
      user('Okay?'),
      agent("It's time for your yearly check-up. Shall I book a slot next week?"),
      user("Please don't call me again."),
      agent("Understood, I've removed you from our call list. Sorry for the trouble."),
    ],
    summary: '{customer} declined and asked not to be called again; removed from the call list.',
    successful: false,
    sentiment: 'Negative',
    custom: { appointment_confirmed: false, callback_requested: false },
  },
];

/** What a voicemail box says, then the agent's message. @internal */
export const voicemailConversation: ConversationTemplate = {
  turns: [
    user(
      "Hi, you've reached {customer}. I can't take your call right now, please leave a message after the tone.",
    ),
    agent(
      'Hi {customer}, this is {agent} from {company}. Please call us back at your convenience. Thank you!',
    ),
  ],
  summary: "The call reached {customer}'s voicemail; the agent left a callback message.",
  successful: false,
  sentiment: 'Neutral',
  custom: { appointment_confirmed: false, callback_requested: true },
};

/** A call that broke down after the greeting. @internal */
export const brokenConversation: ConversationTemplate = {
  turns: [
    agent('Thank you for calling {company}, this is {agent}. How can I help you today?'),
    user('Hi, I wanted to ask about'),
  ],
  summary: 'The call was cut off shortly after the greeting.',
  successful: false,
  sentiment: 'Unknown',
  custom: {},
};
