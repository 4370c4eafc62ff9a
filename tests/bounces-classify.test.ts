// The pure classifier: Kurier's own bounce fixtures with their expected verdicts, and the small parsers it is
// built from (delivery-status fields, reasons, prose reports) as tables of cases.

import { describe, expect, it } from 'vitest';
import { classifyMessage, summarizeDecision } from '../src/bounces/classify.ts';
import { parseFieldBlocks } from '../src/bounces/fields.ts';
import { parseMail } from '../src/bounces/parse-mail.ts';
import { parseReasonFromText, parseStatusCode, planReason, planSeverity } from '../src/bounces/reasons.ts';
import { parseSesNotification } from '../src/bounces/ses.ts';
import { findFailedRecipients, splitReport } from '../src/bounces/text-bounce.ts';
import { readBounceFixture, readBounceManifest } from './support/bounce-fixtures.ts';

const manifest = readBounceManifest();

describe('the bounce fixtures', () => {
  it('hold at least 30 messages', () => {
    expect(manifest.messages.length).toBeGreaterThanOrEqual(30);
  });

  it.each(manifest.messages.map((entry) => [entry.file, entry] as const))('%s', async (_file, entry) => {
    const decision = classifyMessage(await parseMail(readBounceFixture(entry.file)), manifest.settings);
    expect(summarizeDecision(decision)).toBe(entry.verdict);
    if (entry.recipients !== undefined) {
      const got =
        decision.kind === 'bounce'
          ? decision.recipients.map((recipient) => ({
              address: recipient.address,
              severity: recipient.severity,
              status: recipient.status,
            }))
          : decision.kind === 'complaint'
            ? decision.recipients.map((address) => ({ address }))
            : decision.kind === 'unsubscribe'
              ? [{ address: decision.address }]
              : [];
      expect(got).toEqual(entry.recipients.map((recipient) => expect.objectContaining(recipient)));
    }
    if (entry.reader !== undefined) {
      const verp = 'verp' in decision ? decision.verp : undefined;
      expect(verp?.status === 'valid' ? verp.ref : verp).toEqual({
        sendId: manifest.settings.sendId,
        reader: entry.reader,
        keyId: 1,
      });
    }
    if (entry.messageId !== undefined) {
      expect('originalMessageId' in decision ? decision.originalMessageId : undefined).toBe(entry.messageId);
    }
  });

  it('acts on nobody when the VERP keys are unknown to it', async () => {
    const decision = classifyMessage(await parseMail(readBounceFixture('postfix-dsn-user-unknown.eml')), {
      ...manifest.settings,
      keys: [{ id: 1, secret: 'another list' }],
    });
    expect(decision).toMatchObject({ kind: 'unknown', why: 'bounce with a forged VERP token' });
  });
});

describe('classifyMessage', () => {
  it('takes no prose for a bounce unless a mail system sent it: a reader writing about a rejection is no bounce', async () => {
    const raw = Buffer.from(
      [
        'From: Fritz <fritz@example.net>',
        'To: bounces@kurier.example',
        'Subject: Re: my comment was rejected',
        '',
        'My comment to anna@example.org was rejected: user unknown?',
      ].join('\r\n'),
    );
    expect(classifyMessage(await parseMail(raw), manifest.settings).kind).toBe('not-bounce');
    const fromDaemon = Buffer.from(
      raw.toString().replace('Fritz <fritz@example.net>', 'MAILER-DAEMON@example.net'),
    );
    expect(classifyMessage(await parseMail(fromDaemon), manifest.settings)).toMatchObject({
      kind: 'bounce',
      recipients: [{ address: 'anna@example.org', reason: 'userunknown' }],
    });
  });
});

function mail(lines: readonly string[]): Buffer {
  return Buffer.from(lines.join('\r\n'));
}

const DAEMON = ['From: MAILER-DAEMON@mx.example.net', 'To: news@kurier.example'];

async function recipientsOf(raw: Buffer) {
  const decision = classifyMessage(await parseMail(raw), manifest.settings);
  return decision.kind === 'bounce'
    ? decision.recipients.map(({ address, reason, severity }) => ({ address, reason, severity }))
    : decision.kind;
}

describe('classifyMessage on reports whose phrase alone does not decide', () => {
  it('takes an unreachable server in a final report as expired (soft), in a delay report as refused', async () => {
    const report = [
      'Delivery to the following recipient failed permanently:',
      '',
      '     anna@example.org',
      '',
      'Technical details of permanent failure:',
      'The recipient server did not accept our requests to connect.',
      '[(0) example.org. [192.0.2.1]:25: socket error]',
    ];
    const final = mail([...DAEMON, 'Subject: Delivery Status Notification (Failure)', '', ...report]);
    expect(await recipientsOf(final)).toEqual([
      { address: 'anna@example.org', reason: 'expired', severity: 'soft' },
    ]);
    const warning = mail([
      ...DAEMON,
      'Subject: Warning: could not send message for past 4 hours',
      '',
      'The following addresses had delivery errors:',
      '',
      'anna@example.org [Connection timed out]',
      '',
      'Delivery attempts will continue to be made.',
    ]);
    expect(await recipientsOf(warning)).toEqual([
      { address: 'anna@example.org', reason: 'networkerror', severity: 'refused' },
    ]);
  });

  it("reads a transcript's line for each address, not the next host's answer below it", async () => {
    const raw = mail([
      ...DAEMON,
      'Subject: Returned mail: Host unknown',
      '',
      '   ----- Transcript of session follows -----',
      '554 <anna@example.edu>... Remote protocol error: Connection reset by peer during result wait',
      '550 example.org (smtp)... 550 Host unknown',
      '554 <berta@example.org>... 550 Host unknown (Authoritative answer from name server)',
    ]);
    expect(await recipientsOf(raw)).toEqual([
      { address: 'anna@example.edu', reason: 'networkerror', severity: 'refused' },
      { address: 'berta@example.org', reason: 'hostunknown', severity: 'hard' },
    ]);
  });

  it('lets the opening of a report speak for a bare list of addresses (EZweb)', async () => {
    const raw = mail([
      ...DAEMON,
      'Subject: Mail System Error - Returned Mail',
      '',
      'The user(s) account is disabled.',
      '',
      '<anna@example.ne.jp>',
    ]);
    expect(await recipientsOf(raw)).toEqual([
      { address: 'anna@example.ne.jp', reason: 'suspend', severity: 'soft' },
    ]);
  });

  it('reads a delivery report that a mail filter passes on as an attached message', async () => {
    const raw = mail([
      ...DAEMON,
      'Subject: Returned mail: User unknown',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: text/plain',
      '',
      '----- The following addresses had permanent delivery errors -----',
      '',
      '--outer',
      'Content-Type: message/rfc822',
      '',
      'From: MAILER-DAEMON@filter.example.net',
      'To: news@kurier.example',
      'Subject: Returned mail: User unknown',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="inner"',
      '',
      '--inner',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; filter.example.net',
      '',
      'Final-Recipient: rfc822; anna@example.org',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
      '',
      '--inner--',
      '',
      '--outer--',
    ]);
    expect(await recipientsOf(raw)).toEqual([
      { address: 'anna@example.org', reason: 'userunknown', severity: 'hard' },
    ]);
  });

  it('names the complainant from the inline original of a feedback report', async () => {
    const raw = mail([
      'From: fbl@isp.example',
      'To: news@kurier.example',
      'Subject: Abuse report',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'This is an abuse report.',
      '',
      '--b',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'Version: 1',
      '',
      '--b',
      'Content-Type: message/rfc822',
      'Content-Disposition: inline',
      '',
      'From: news@kurier.example',
      'To: <anna@example.org>',
      'Subject: The newsletter',
      '',
      'Hello',
      '',
      '--b--',
    ]);
    expect(classifyMessage(await parseMail(raw), manifest.settings)).toMatchObject({
      kind: 'complaint',
      recipients: ['anna@example.org'],
    });
  });
});

describe('parseMail', () => {
  it('keeps a message mailparser refuses (too many MIME parts), so it can still be decided and listed', async () => {
    const parts = Array.from({ length: 3000 }, (_, index) => {
      return `--b${index}\r\nContent-Type: multipart/mixed; boundary=b${index + 1}\r\n\r\n`;
    });
    const raw = Buffer.from(
      `Subject: many parts\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n${parts.join('')}`,
    );
    const message = await parseMail(raw);
    expect(message.text).toContain('--b2999');
    expect(classifyMessage(message, manifest.settings).kind).toBe('not-bounce');
  });
});

describe('parseFieldBlocks', () => {
  it('splits per-recipient blocks, folds continuations, and starts a block at a repeated recipient', () => {
    const blocks = parseFieldBlocks(
      [
        'Reporting-MTA: dns; mx.example.org',
        '',
        'Final-Recipient: rfc822; a@example.org',
        'Action: failed',
        'Diagnostic-Code: smtp; 550 5.1.1 user',
        '    unknown',
        'Final-Recipient: rfc822; b@example.org',
        'Original-Recipient: rfc822; b@example.org',
        'Action: delayed',
      ].join('\n'),
    );
    expect(blocks.map((block) => Object.fromEntries(block.fields))).toEqual([
      { 'reporting-mta': ['dns; mx.example.org'] },
      {
        'final-recipient': ['rfc822; a@example.org'],
        action: ['failed'],
        'diagnostic-code': ['smtp; 550 5.1.1 user unknown'],
      },
      {
        'final-recipient': ['rfc822; b@example.org'],
        'original-recipient': ['rfc822; b@example.org'],
        action: ['delayed'],
      },
    ]);
  });
});

describe('reasons', () => {
  it.each([
    ['550 5.1.1 <a@example.org>: Recipient address rejected: User unknown', 'userunknown'],
    ['552 5.2.2 Mailbox full', 'mailboxfull'],
    ['The email account that you tried to reach is disabled.', 'suspend'],
    ['Host or domain name not found. Name service error', 'hostunknown'],
    ["The domain example.org doesn't receive email: returned Null MX", 'notaccept'],
    ['554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org', 'blocked'],
    ['553 5.1.8 Domain of sender address x@example.com does not exist', 'rejected'],
    ["Unauthenticated email from example.com is not accepted due to domain's DMARC policy", 'securityerror'],
    ['Message rejected as spam by content filter', 'spamdetected'],
    ['retry timeout exceeded', 'expired'],
    ['554 Relay access denied', 'norelaying'],
    ['Message size exceeds fixed maximum message size', 'mesgtoobig'],
    ['Too many connections from your IP', 'toomanyconn'],
    ['Mail loop detected: too many hops', 'networkerror'],
    ['Hello there', undefined],
    // Rules added after measuring against Sisimai, each from a real-world wording:
    [
      'The mail server could not deliver mail. The account or domain may not exist, they may be blacklisted',
      'hostunknown',
    ],
    ["550 'a@example.com' is not a registered gateway user", 'rejected'],
    ['Mail Sending denied. This error occurs if the sender account is disabled', 'rejected'],
    ['pipe to |/usr/local/bin/filter a@example.com', 'mailererror'],
    ['452 4.4.5 Insufficient disk space; try again later', 'systemfull'],
    ['538 5.7.10 STARTTLS is required to send mail', 'securityerror'],
    ['This message is not RFC 5322 compliant. There are multiple Subject headers.', 'contenterror'],
    ['554 email rejected due to security policies', 'policyviolation'],
    ['550 5.0.0 Recipient suspend the service', 'suspend'],
    ['The recipient account is blocked.', 'suspend'],
    ['554 delivery error: dd someone@example.com is no longer valid.', 'suspend'],
    ['421 Max message per connection reached, closing transmission channel', 'toomanyconn'],
    ['450 4.2.1 The user you are trying to contact is receiving mail too quickly.', 'toomanyconn'],
    ['mail for example.org loops back to myself', 'systemerror'],
    ['451 4.3.0 Error: queue file write error', 'systemerror'],
    ['permanent failure - #5.3.4 message header size exceeds limit', 'exceedlimit'],
    ['550 5.2.1 Content Filter agent quarantined this message', 'spamdetected'],
    ['Connection timed out', 'networkerror'],
    ['Unable to contact LDAP server. (#4.4.3) This message has been in the queue too long.', 'systemerror'],
    ['Timeout while performing search on LDAP server (#4.4.3)', 'systemerror'],
    ['/bin/sh: bad interpreter: No such file or directory', 'systemerror'],
    ['Requested action not taken: mailbox unavailable (not enough free space)', 'systemfull'],
    [
      "Sorry. Although I'm listed as a best-preference MX or A for that host, it isn't in my control/locals file",
      'networkerror',
    ],
    [
      'Connected to 192.0.2.1 but my name was rejected. Remote host said: 501 5.0.0 Invalid domain name',
      'blocked',
    ],
  ])('%s → %s', (text, reason) => {
    expect(parseReasonFromText(text)).toBe(reason);
  });

  it.each([
    ['5.1.1', 'sorry, undeliverable', 'userunknown'],
    ['5.2.2', 'over quota', 'mailboxfull'],
    ['5.7.1', 'blocked using zen.spamhaus.org', 'blocked'],
    ['5.0.0', 'sorry', 'undefined'],
    ['4.0.0', 'sorry', 'onhold'],
    [undefined, 'no such user here', 'userunknown'],
    // A 5.1.1 given to a full mailbox yields to the wording; 5.1.1 with a blocked IP stays a dead address.
    ['5.1.1', '552 sorry, mailbox a@example.org is over quota temporarily (#5.1.1)', 'mailboxfull'],
    ['5.1.1', 'user unknown; your IP is listed at spamhaus', 'userunknown'],
    // Orange's and La Poste's codes, and Exchange's, name the reason beside a generic wording.
    ['5.2.0', '550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]', 'spamdetected'],
    ['5.5.0', '550 5.5.0 Le compte du destinataire est bloque. LPN007_426', 'suspend'],
    ['5.2.3', '550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient', 'mesgtoobig'],
    ['5.2.3', '552 5.2.3 Message length exceeds limit set by recipient', 'exceedlimit'],
    ['5.1.1', '550 5.1.1 RCP-P2 http://postmaster.facebook.com/response_codes?ip=192.0.2.1#rcp', 'filtered'],
    ['5.0.0', '550 5.0.0 POL-P2 http://postmaster.facebook.com/response_codes', 'blocked'],
    // An unknown detail falls back to its subject (RFC 3463 §3); x.1.x and x.2.x say too little.
    ['5.7.124', 'Sender not in allowed-senders list', 'securityerror'],
    ['5.7.199', 'Nope', 'securityerror'],
    ['5.6.11', 'Nope', 'contenterror'],
    ['5.1.90', 'Nope', 'undefined'],
    ['4.3.2', 'Service not active', 'systemerror'],
    ['4.3.0', 'Nope', 'systemerror'],
    ['5.2.1', 'receiving mail at a rate that 550-5.2.1 prevents additional messages', 'toomanyconn'],
  ] as const)('status %s with %s → %s', (status, text, reason) => {
    expect(planReason(status, text)).toBe(reason);
  });

  it.each([
    ['userunknown', '5.1.1', false, 'hard'],
    ['userunknown', '4.1.1', false, 'soft'],
    ['mailboxfull', '5.2.2', false, 'soft'],
    ['blocked', '5.7.1', false, 'refused'],
    ['blocked', '4.7.1', true, 'refused'],
    ['undefined', '5.0.0', false, 'hard'],
    ['undefined', '5.0.0', true, 'soft'],
    ['notaccept', '4.0.0', false, 'hard'],
  ] as const)('%s %s delayed=%s → %s', (reason, status, delayed, severity) => {
    expect(planSeverity(reason, status, delayed)).toBe(severity);
  });

  it.each([
    ['550-5.1.10 RESOLVER.ADR.RecipientNotFound', '5.1.10'],
    ['host 192.0.2.153 said: 550 user unknown', undefined],
    ['Status: 4.4.7 (delivery expired)', '4.4.7'],
    ['version 5.4.316.', '5.4.316'],
  ])('status code in %s → %s', (text, code) => {
    expect(parseStatusCode(text)).toBe(code);
  });
});

describe('prose reports', () => {
  it('ends the report where the returned message begins', () => {
    const { report, original } = splitReport(
      'Hi. This is the qmail-send program.\n<a@example.org>:\nno mailbox\n\n--- Below this line is a copy of the message.\n\nTo: a@example.org\n',
    );
    expect(report).toContain('no mailbox');
    expect(original).toContain('To: a@example.org');
  });

  it('names the failed recipients, not the sender, the mail system or our own address', () => {
    const report = [
      'A message that you sent could not be delivered. The following address(es) failed:',
      '',
      '  reader@example.org',
      '    SMTP error from remote mail server after RCPT TO:<reader@example.org>:',
      '    550 unknown user. Contact postmaster@example.org, not news@kurier.example.',
    ].join('\n');
    expect(findFailedRecipients(report, new Set(['news@kurier.example']))).toEqual(['reader@example.org']);
  });
});

describe('parseSesNotification', () => {
  it('reads a bare notification and one wrapped in SNS, and refuses other JSON', () => {
    const bounce = {
      notificationType: 'Bounce',
      bounce: { bounceType: 'Transient', bouncedRecipients: [{ emailAddress: 'a@example.org' }] },
    };
    expect(parseSesNotification(JSON.stringify(bounce))?.notificationType).toBe('Bounce');
    const wrapped = JSON.stringify({ Type: 'Notification', Message: JSON.stringify(bounce) });
    expect(parseSesNotification(`SNS says:\n${wrapped}\n`)?.notificationType).toBe('Bounce');
    expect(parseSesNotification('{"notificationType": "Bounce"}')).toBeUndefined();
    expect(parseSesNotification('no json here')).toBeUndefined();
  });
});
