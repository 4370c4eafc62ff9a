// The relays' notifications decided (pure): Postmark's bounce types as tables of cases, SES notifications
// received over SNS with and without a valid VERP return path, and the canonical string SNS signs.

import { describe, expect, it } from 'vitest';
import { classifySesNotification, summarizeDecision } from '../src/bounces/classify.ts';
import { planVerpKeys } from '../src/bounces/keys.ts';
import { classifyPostmarkPayload, parsePostmarkPayload } from '../src/bounces/postmark.ts';
import { parseSnsMessage, planSnsStringToSign } from '../src/bounces/sns.ts';
import { planVerpAddress } from '../src/bounces/verp.ts';

const payload = {
  RecordType: 'Bounce',
  ID: 42,
  Type: 'HardBounce',
  TypeCode: 1,
  MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
  Email: 'Anna@Example.org',
  Details: '',
};

function decide(overrides: Record<string, unknown>): string {
  const parsed = parsePostmarkPayload({ ...payload, ...overrides });
  if (!parsed.ok) throw new Error(parsed.problem);
  return summarizeDecision(classifyPostmarkPayload(parsed.payload));
}

describe('Postmark payloads', () => {
  it.each([
    [{ Type: 'HardBounce' }, 'hard'],
    [{ Type: 'BadEmailAddress' }, 'hard'],
    [{ Type: 'SoftBounce' }, 'soft'],
    [{ Type: 'Transient', Details: 'smtp;452 4.2.2 mailbox full' }, 'soft'],
    [
      { Type: 'Blocked', Details: '554 5.7.1 Service unavailable; client host blocked using Spamhaus' },
      'refused',
    ],
    [{ Type: 'DMARCPolicy' }, 'refused'],
    [{ Type: 'HardBounce', Details: '550 5.7.1 Message rejected as spam' }, 'refused'],
    [{ RecordType: 'SpamComplaint', Type: 'SpamComplaint', TypeCode: 512 }, 'complaint'],
    [{ Type: 'Unsubscribe' }, 'unsubscribe'],
    [{ Type: 'AutoResponder' }, 'auto-reply'],
    [{ Type: 'Subscribe' }, 'unknown'],
    [{ Email: 'not an address' }, 'unknown'],
  ])('%o is %s', (overrides, verdict) => {
    expect(decide(overrides)).toBe(verdict);
  });

  it('names the reader by the address, lowercased', () => {
    const parsed = parsePostmarkPayload(payload);
    if (!parsed.ok) throw new Error(parsed.problem);
    expect(classifyPostmarkPayload(parsed.payload)).toMatchObject({
      kind: 'bounce',
      recipients: [{ address: 'anna@example.org', severity: 'hard' }],
    });
  });

  it.each([
    [{ RecordType: 'Delivery' }, /^RecordType: /],
    [{ ID: -1 }, /^ID: /],
    [{ ID: '12a' }, /^ID: /],
    [{ Email: undefined }, /^Email: /],
    [{ Type: 'x'.repeat(101) }, /^Type: /],
  ])('refuses %o', (overrides, problem) => {
    const parsed = parsePostmarkPayload({ ...payload, ...overrides });
    expect(parsed.ok ? '' : parsed.problem).toMatch(problem);
  });
});

describe('SES notifications over SNS', () => {
  const keys = planVerpKeys(['the secret']);
  const settings = { bounceAddress: 'bounces@kurier.example', keys };
  const bounce = (source: string) =>
    JSON.stringify({
      notificationType: 'Bounce',
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [{ emailAddress: 'anna@example.org', status: '5.1.1' }],
      },
      mail: { source, messageId: 'ses-1' },
    });

  it('take the reader from the VERP return path in mail.source', () => {
    const decision = classifySesNotification(
      bounce(planVerpAddress(settings.bounceAddress, 'bounce', keys, 7, 3)),
      settings,
    );
    expect(decision).toMatchObject({
      kind: 'bounce',
      verp: { status: 'valid', ref: { sendId: 7, reader: 3 } },
    });
  });

  it('leave a notification whose token does not verify for a person', () => {
    const forged = classifySesNotification(bounce('bounces+aaaaaaaaaaaaaaaaaaaaa@kurier.example'), settings);
    expect(forged).toMatchObject({ kind: 'unknown', why: 'bounce with a forged VERP token' });
    expect(classifySesNotification('{"eventType":"Open"}', settings)).toBeUndefined();
  });
});

describe('the string SNS signs', () => {
  it('lists the fields of a notification in order, Subject only when there is one', () => {
    const base = {
      Type: 'Notification',
      MessageId: 'm-1',
      TopicArn: 'arn:aws:sns:eu-central-1:123456789012:t',
      Message: 'hello\nworld',
      Timestamp: '2026-11-26T10:00:00.000Z',
      SignatureVersion: '1',
      Signature: 'c2ln',
      SigningCertURL: 'https://sns.eu-central-1.amazonaws.com/a.pem',
      UnsubscribeURL: 'https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe',
    };
    const message = parseSnsMessage(JSON.stringify(base));
    if (message === undefined) throw new Error('not parsed');
    expect(planSnsStringToSign(message)).toBe(
      'Message\nhello\nworld\nMessageId\nm-1\nTimestamp\n2026-11-26T10:00:00.000Z\nTopicArn\narn:aws:sns:eu-central-1:123456789012:t\nType\nNotification\n',
    );
    const withSubject = parseSnsMessage({ ...base, Subject: 'Bounce' });
    if (withSubject === undefined) throw new Error('not parsed');
    expect(planSnsStringToSign(withSubject)).toContain('MessageId\nm-1\nSubject\nBounce\nTimestamp\n');
    expect(parseSnsMessage({ ...base, SignatureVersion: '3' })).toBeUndefined();
    expect(parseSnsMessage('{not json')).toBeUndefined();
  });
});
