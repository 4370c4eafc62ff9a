// Postmark's bounce and spam-complaint webhooks (https://postmarkapp.com/developer/webhooks/bounce-webhook,
// …/spam-complaint-webhook): the JSON body checked by a schema, then decided as a mailed report would be.
// Pure.

import { z } from '../schema.ts';
import { type Decision, toRecipient } from './classify.ts';
import { findAddresses } from './fields.ts';
import { parseReasonFromText } from './reasons.ts';

const payloadSchema = z.object({
  RecordType: z.enum(['Bounce', 'SpamComplaint']),
  // Postmark's bounce id: a retried delivery of the webhook repeats it.
  ID: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String),
  Type: z.string().max(100),
  Email: z.string().max(320),
  Description: z.string().max(2000).default(''),
  Details: z.string().max(2000).default(''),
  BouncedAt: z.string().max(100).optional(),
  Subject: z.string().max(2000).optional(),
  MessageStream: z.string().max(100).optional(),
});

export type PostmarkPayload = z.output<typeof payloadSchema>;

export function parsePostmarkPayload(
  body: unknown,
): { ok: true; payload: PostmarkPayload } | { ok: false; problem: string } {
  const parsed = payloadSchema.safeParse(body);
  if (parsed.success) return { ok: true, payload: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
}

/**
 * Postmark's bounce types (https://postmarkapp.com/developer/api/bounce-api#bounce-types) as the status a DSN
 * would give them and the words of its diagnostic: the classifier's reasons then decide the severity, as for
 * every other report. Types that are no failure of delivery are left out.
 */
const BOUNCE_TYPES: Readonly<Record<string, { status: string; words: string; delayed: boolean }>> = {
  HardBounce: { status: '5.0.0', words: 'no such user', delayed: false },
  BadEmailAddress: { status: '5.1.3', words: 'bad destination mailbox address syntax', delayed: false },
  SoftBounce: { status: '4.0.0', words: '', delayed: true },
  Transient: { status: '4.0.0', words: '', delayed: true },
  DnsError: { status: '4.4.3', words: 'DNS error', delayed: true },
  Blocked: { status: '5.7.1', words: 'blocked', delayed: false },
  DMARCPolicy: { status: '5.7.1', words: 'rejected by DMARC policy', delayed: false },
  SpamNotification: { status: '5.7.1', words: 'spam detected', delayed: false },
  VirusNotification: { status: '5.7.1', words: 'virus detected', delayed: false },
};

const NOTHING = { originalMessageId: undefined, verp: undefined } as const;

/**
 * Postmark rewrites the return path to its own domain, so no VERP token comes back: the address it names is
 * the reader.
 */
export function classifyPostmarkPayload(payload: PostmarkPayload): Decision {
  const address = findAddresses(payload.Email)[0];
  if (address === undefined)
    return { kind: 'unknown', why: `Postmark ${payload.Type} without an address`, ...NOTHING };
  if (payload.RecordType === 'SpamComplaint' || payload.Type === 'SpamComplaint') {
    return { kind: 'complaint', feedbackType: 'abuse', recipients: [address], ...NOTHING };
  }
  if (payload.Type === 'Unsubscribe') return { kind: 'unsubscribe', address, verp: undefined };
  if (payload.Type === 'AutoResponder')
    return { kind: 'auto-reply', why: 'Postmark AutoResponder', ...NOTHING };
  const type = BOUNCE_TYPES[payload.Type];
  if (type === undefined) return { kind: 'unknown', why: `Postmark bounce type ${payload.Type}`, ...NOTHING };
  // Postmark files a spam rejection under HardBounce too: the receiving server's own words come first.
  const diagnostic =
    parseReasonFromText(payload.Details) === undefined
      ? `${payload.Details} ${type.words}`.trim()
      : payload.Details;
  return {
    kind: 'bounce',
    recipients: [toRecipient(address, type.status, diagnostic, type.delayed ? 'delayed' : 'failed')],
    ...NOTHING,
  };
}
