// A message from the return mailbox → what it is: a bounce (per recipient: hard, soft, or the sender refused),
// a complaint, a mailed unsubscribe, an auto-reply, not a bounce at all, or unknown and left for a person.

import { fieldOf, findAddresses, parseAddressField, parseFieldBlocks } from './fields.ts';
import type { MailMessage } from './parse-mail.ts';
import {
  parseReasonFromText,
  parseReplyCode,
  parseStatusCode,
  planReason,
  planSeverity,
  type Reason,
  type Severity,
} from './reasons.ts';
import { parseSesNotification, type SesNotification } from './ses.ts';
import {
  DELAY_SUBJECT,
  DELAY_WORDING,
  findFailedRecipients,
  isSystemAddress,
  PERMANENT_WORDING,
  segmentFor,
  splitReport,
} from './text-bounce.ts';
import { findVerpToken, type VerpKey, type VerpMatch } from './verp.ts';

export interface ClassifySettings {
  /** The plain return address (`bounces@example.org`); its `+token` forms are VERP addresses. */
  readonly bounceAddress?: string;
  /** The address of `List-Unsubscribe: <mailto:…>`; `+token` forms name the reader. */
  readonly unsubscribeAddress?: string;
  readonly keys?: readonly VerpKey[];
}

export interface BouncedRecipient {
  /** Undefined when only a VERP token names the reader. */
  readonly address: string | undefined;
  readonly action: 'failed' | 'delayed';
  /** RFC 3463 enhanced status code, when the report gives one. */
  readonly status: string | undefined;
  readonly diagnostic: string;
  readonly reason: Reason;
  readonly severity: Severity;
}

interface Origin {
  /** Message-ID of the returned original, when the report includes it. */
  readonly originalMessageId: string | undefined;
  readonly verp: VerpMatch | undefined;
}

export type Decision =
  | ({ readonly kind: 'bounce'; readonly recipients: readonly BouncedRecipient[] } & Origin)
  | ({
      readonly kind: 'complaint';
      /** RFC 5965 Feedback-Type (abuse, fraud, opt-out, …). */
      readonly feedbackType: string;
      readonly recipients: readonly string[];
    } & Origin)
  | {
      readonly kind: 'unsubscribe';
      /** The sender of the request: the reader, when no valid token names them. */
      readonly address: string | undefined;
      readonly verp: VerpMatch | undefined;
    }
  | ({ readonly kind: 'auto-reply'; readonly why: string } & Origin)
  | ({ readonly kind: 'not-bounce'; readonly why: string } & Origin)
  | ({ readonly kind: 'unknown'; readonly why: string } & Origin);

/** The one word a manifest or a log line names a decision by: a bounce is named by its worst recipient. */
export function summarizeDecision(decision: Decision): string {
  if (decision.kind !== 'bounce') return decision.kind;
  const severities = decision.recipients.map((recipient) => recipient.severity);
  return severities.includes('hard') ? 'hard' : severities.includes('soft') ? 'soft' : 'refused';
}

function header(message: MailMessage, name: string): string[] {
  return message.headers.filter((field) => field.name === name).map((field) => field.value);
}

/** RFC 3834 §5 and the older headers of vacation programs and Exchange. */
function autoReplyHeader(message: MailMessage): string | undefined {
  const submitted = header(message, 'auto-submitted')[0]?.toLowerCase();
  if (submitted?.startsWith('auto-replied')) return 'Auto-Submitted: auto-replied (RFC 3834)';
  if (header(message, 'x-autoreply').length > 0) return 'X-Autoreply';
  if (header(message, 'x-autorespond').length > 0) return 'X-Autorespond';
  if (header(message, 'x-autoresponder').length > 0) return 'X-Autoresponder';
  const precedence = header(message, 'precedence')[0]?.toLowerCase();
  if (precedence === 'auto_reply') return 'Precedence: auto_reply';
  return undefined;
}

/**
 * Subjects of out-of-office and other automatic replies, in the languages of the readers a list has:
 * Outlook's "Automatic reply" and its translations, Gmail's vacation responder, Apple's and Thunderbird's.
 */
const AUTO_REPLY_SUBJECT =
  /^(?:(?:auto(?:matic)?(?:[ -]?reply|[ -]?response|matische antwort|matisch antwoord)|out of (?:the )?office|away from (?:the )?office|abwesenheitsnotiz|abwesend|abwesenheit|außer haus|ausser haus|nicht im büro|urlaubsabwesenheit|réponse automatique|absence|absent|respuesta automática|fuera de la oficina|risposta automatica|fuori sede|fuori ufficio|automatisch antwoord|afwezig|niet aanwezig|autosvar|frånvaro|fraværende|automaattinen vastaus|poza biurem|odpowiedź automatyczna|automatická odpověď|mimo kancelář|resposta automática|ausência|fora do escritório|自動応答|不在|автоответ|vacation|on vacation|on leave|holiday|auto:|autoreply|autoresponse|i am (?:currently )?(?:out|away|on (?:vacation|leave|holiday))|away until|out of office))/i;

const AUTO_REPLY_PREFIX = /^(?:(?:re|aw|sv|antw|rif|r|wg|fw|fwd)\s*:\s*)*/i;

function autoReplySubject(subject: string): boolean {
  const trimmed = subject.trim();
  return AUTO_REPLY_SUBJECT.test(trimmed) || AUTO_REPLY_SUBJECT.test(trimmed.replace(AUTO_REPLY_PREFIX, ''));
}

const BOUNCE_SUBJECT =
  /\b(?:undeliver(?:ed|able)|undelivered mail|delivery (?:status notification|failure|failed|has failed|notification|problem|report)|failure notice|mail delivery (?:failed|failure|system|subsystem)|returned mail|returning message|non[- ]?delivery|could not (?:be )?deliver|delivery (?:to the following recipients? )?failed|mail (?:system )?error|unzustellbar|nicht zustellbar|unable to deliver|message not delivered|Zustellung|échec de (?:la )?remise|non remis|undelivered|rejected|bounce|delayed mail|warning: could not send|mail failure|delivery status)\b/i;

/** mailparser gives no address for a bare `From: mailer-daemon`, so the raw field is read as well. */
function fromMailSystem(message: MailMessage): boolean {
  if (message.from.some(isSystemAddress)) return true;
  return /mailer[- ]?daemon|mail delivery (?:system|subsystem)|post_?master/i.test(
    header(message, 'from')[0] ?? '',
  );
}

/**
 * A subject alone does not make a bounce (a reader may write "Re: … rejected"): the message must also come
 * from a mail system, with the null return path of a DSN (RFC 5321 §4.5.5), or marked automatic.
 */
function looksLikeBounce(message: MailMessage): boolean {
  if (message.reportType === 'delivery-status') return true;
  if (header(message, 'x-failed-recipients').length > 0) return true;
  if (fromMailSystem(message)) return true;
  const nullReturnPath = header(message, 'return-path').some((value) => /^<\s*>$/.test(value));
  const automatic = header(message, 'auto-submitted').some((value) => !/^no\b/i.test(value));
  return (nullReturnPath || automatic) && BOUNCE_SUBJECT.test(message.subject);
}

/** Raw and decoded: a token survives in one or the other whatever the transfer encoding. */
function allText(message: MailMessage): string {
  return [message.raw, message.text, ...message.parts.map((part) => part.text)].join('\n');
}

/** The returned original: an attached message or its headers, else what follows the report in the text. */
function originalOf(message: MailMessage, fallback: string): string {
  const part = message.parts.find((candidate) =>
    /^(?:message\/(?:rfc822|global)|text\/rfc822-headers?|message\/rfc822-headers)$/.test(candidate.type),
  );
  return part?.text ?? fallback;
}

function originalField(original: string, name: string): string | undefined {
  const pattern = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t]+.*)*)`, 'im');
  return pattern.exec(original)?.[1]?.replace(/\s+/g, ' ').trim();
}

/**
 * The Message-ID of the returned original: from its attached copy, else the first Message-ID field in the
 * raw message other than the report's own (mailparser shows an inline message/rfc822 without it).
 */
function originalMessageId(message: MailMessage, original: string): string | undefined {
  const own = message.messageId;
  for (const text of [original, message.raw, message.text]) {
    for (const match of text.matchAll(/^Message-I[Dd]:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]+>)/gim)) {
      if (match[1] !== own) return match[1];
    }
  }
  return undefined;
}

function compact(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 1000);
}

/** Wording of a server that could not be reached at all, as opposed to one that misbehaved once reached. */
const UNREACHABLE =
  /\b(?:connection timed out|timed out|did not accept our requests to connect|socket error|(?:could not|couldn'?t|unable to) connect|no route to host|network is unreachable|host is unreachable|did not respond)\b/i;

export function toRecipient(
  address: string | undefined,
  statusField: string | undefined,
  diagnostic: string,
  action: 'failed' | 'delayed' | undefined,
): BouncedRecipient {
  const fromDiagnostic = parseStatusCode(diagnostic);
  let status = statusField;
  // A generic x.0.0 in the Status field says less than a specific code in the diagnostic (RFC 3463 §3).
  if (status === undefined || /\.0\.0$/.test(status)) status = fromDiagnostic ?? status;
  if (status === undefined) {
    const reply = parseReplyCode(diagnostic);
    if (reply !== undefined && reply >= 400) status = `${Math.floor(reply / 100)}.0.0`;
  }
  const transient = status?.startsWith('4') ?? false;
  let reason = planReason(status, diagnostic, address);
  // Failed with a transient code, a final report of a network failure without any code, or a final report
  // that the reader's server could not be reached at all: the MTA retried until it gave up (RFC 3464
  // §2.3.3), the message expired. A delay report of the same says nothing of the reader yet.
  const gaveUp =
    (action === 'failed' && transient && ['networkerror', 'onhold', 'undefined'].includes(reason)) ||
    (action === undefined && status === undefined && reason === 'networkerror') ||
    (action !== 'delayed' && reason === 'networkerror' && UNREACHABLE.test(diagnostic));
  if (gaveUp) reason = 'expired';
  const delayed = action === 'delayed' || (action === undefined && transient);
  return {
    address,
    action: delayed ? 'delayed' : 'failed',
    status,
    diagnostic: compact(diagnostic),
    reason,
    severity: planSeverity(reason, status, delayed),
  };
}

function complaintOf(message: MailMessage, origin: Origin, text: string): Decision | undefined {
  const report = message.parts.find((part) => part.type === 'message/feedback-report')?.text;
  const reportText = report ?? (message.reportType === 'feedback-report' ? message.text : undefined);
  // mailparser shows an inline message/rfc822 in the text, with its To among the few fields it keeps.
  const original = originalOf(message, report === undefined ? '' : message.text);
  // Microsoft's feedback loop (JMRP) sends the complained-of message with this header instead of a report.
  const microsoft = /^X-HmXmrOriginalRecipient:\s*(\S+)/im.exec(text);
  if (reportText === undefined && microsoft === null) return undefined;
  const block = parseFieldBlocks(reportText ?? '').find((candidate) => candidate.fields.has('feedback-type'));
  const feedbackType = (block && fieldOf(block, 'feedback-type'))?.toLowerCase().split(/\s/)[0] ?? 'abuse';
  if (reportText !== undefined && block === undefined && microsoft === null) return undefined;
  const named = [
    ...(block?.fields.get('original-rcpt-to') ?? []),
    ...(block?.fields.get('removal-recipient') ?? []),
  ].flatMap((value) => findAddresses(value));
  const recipients =
    named.length > 0
      ? named
      : microsoft !== null
        ? findAddresses(microsoft[1] as string)
        : findAddresses(originalField(original, 'To') ?? '');
  return { kind: 'complaint', feedbackType, recipients: [...new Set(recipients)], ...origin };
}

function recipientBlocks(text: string) {
  return parseFieldBlocks(text).filter(
    (block) =>
      (block.fields.has('final-recipient') || block.fields.has('original-recipient')) &&
      (block.fields.has('action') || block.fields.has('status')),
  );
}

function deliveryStatusOf(message: MailMessage): BouncedRecipient[] | 'delivered' | undefined {
  const statusParts = message.parts
    .filter((part) => /^message\/(?:global-)?delivery-status$/.test(part.type))
    .map((part) => part.text);
  let blocks = recipientBlocks([message.text, ...statusParts].join('\n\n'));
  // A mail filter (Trend Micro's, for one) may pass the DSN it intercepted on as an attached message.
  if (blocks.length === 0) {
    const attached = message.parts.filter((part) => part.type === 'message/rfc822').map((part) => part.text);
    blocks = recipientBlocks(attached.join('\n\n'));
  }
  if (blocks.length === 0) return undefined;
  const { report } = splitReport(message.text);
  const addresses = blocks
    .map((block) =>
      parseAddressField(fieldOf(block, 'final-recipient') ?? fieldOf(block, 'original-recipient')),
    )
    .filter((address): address is string => address !== undefined);
  const failed: BouncedRecipient[] = [];
  let delivered = 0;
  for (const block of blocks) {
    const action = fieldOf(block, 'action')
      ?.toLowerCase()
      .split(/[\s(;]/)[0];
    if (action === 'delivered' || action === 'relayed' || action === 'expanded') {
      delivered++;
      continue;
    }
    // Exim names a pipe or a file as the final recipient; the prose then names the address it came from.
    const address =
      parseAddressField(fieldOf(block, 'final-recipient')) ??
      parseAddressField(fieldOf(block, 'original-recipient')) ??
      (blocks.length === 1
        ? findFailedRecipients(report, new Set(nonRecipients(message, originalOf(message, ''))))[0]
        : undefined);
    const statusField = parseStatusCode(fieldOf(block, 'status') ?? '');
    const diagnosticField = fieldOf(block, 'diagnostic-code')?.replace(/^[\w-]+\s*;\s*/, '') ?? '';
    // Without a diagnostic, the human-readable part usually says what happened to this address.
    const prose = address === undefined ? '' : segmentFor(report, address, addresses);
    const diagnostic =
      diagnosticField !== '' && parseReasonFromText(diagnosticField) !== undefined
        ? diagnosticField
        : `${diagnosticField}\n${prose}`.trim();
    failed.push(toRecipient(address, statusField, diagnostic, action === 'delayed' ? 'delayed' : 'failed'));
  }
  if (failed.length === 0 && delivered > 0) return 'delivered';
  return failed;
}

/** Addresses a report mentions that are not the failed recipient: ours, the original sender's, Message-IDs. */
function nonRecipients(message: MailMessage, returned: string): string[] {
  return [
    ...message.to,
    ...findAddresses(originalField(returned, 'From') ?? ''),
    ...findAddresses(originalField(returned, 'Return-Path') ?? ''),
    ...message.from,
    // Message-IDs look like addresses; the report and the returned headers quote them.
    ...[...message.text.matchAll(/^(?:Message-I[Dd]|In-Reply-To|References):\s*(.*)$/gim)].flatMap((match) =>
      findAddresses(match[1] as string),
    ),
  ];
}

function textBounceOf(
  message: MailMessage,
  original: string,
  verp: VerpMatch | undefined,
): BouncedRecipient[] {
  const { report, original: inlineOriginal } = splitReport(message.text);
  const returned = original === '' ? inlineOriginal : original;
  const failedHeader = header(message, 'x-failed-recipients').flatMap(findAddresses);
  const exclude = new Set(
    nonRecipients(message, returned).filter((address) => !failedHeader.includes(address)),
  );
  let addresses = failedHeader.length > 0 ? failedHeader : findFailedRecipients(report, exclude);
  if (addresses.length === 0) {
    // A newsletter copy has one recipient: the To of the returned original names it.
    addresses = findAddresses(originalField(returned, 'To') ?? '').filter(
      (address) => !exclude.has(address) && !isSystemAddress(address),
    );
  }
  if (addresses.length === 0 && verp?.status !== 'valid') return [];
  const delayed =
    !PERMANENT_WORDING.test(report) && (DELAY_SUBJECT.test(message.subject) || DELAY_WORDING.test(report));
  const targets: (string | undefined)[] = addresses.length > 0 ? addresses : [undefined];
  const lower = report.toLowerCase();
  const firstMention = Math.min(
    ...addresses.map((address) => lower.indexOf(address)).filter((index) => index >= 0),
    report.length,
  );
  // What the report says before it lists anyone speaks of all of them (EZweb: "The user(s) account is
  // disabled." above a bare list of addresses).
  const opening = report.slice(0, firstMention);
  return targets.map((address) => {
    const whole = address === undefined ? report : segmentFor(report, address, addresses);
    // A transcript says on the address's own line what became of it (Sendmail: `554 <a@…>... Remote
    // protocol error`); the lines after it may already speak of another host.
    const own = /^.*(?:\r?\n[ \t]+\S.*)*/.exec(whole)?.[0] ?? whole;
    const segment = own !== whole && parseReasonFromText(own) !== undefined ? own : whole;
    const recipient = toRecipient(address, undefined, segment, delayed ? 'delayed' : undefined);
    if (recipient.status !== undefined || recipient.reason !== 'undefined') return recipient;
    // Neither a code nor a known phrase: the report's own words on permanence decide (RFC 3463 §3.1).
    return toRecipient(
      address,
      PERMANENT_WORDING.test(report) ? '5.0.0' : undefined,
      `${segment}\n${opening}`,
      delayed ? 'delayed' : undefined,
    );
  });
}

/** SES names the kind of a bounce; the words stand in for a diagnostic where it gives none. */
const SES_SUBTYPE_WORDS: Readonly<Record<string, string>> = {
  NoEmail: 'no such user',
  MailboxFull: 'mailbox full',
  MessageTooLarge: 'message too large',
  ContentRejected: 'content rejected by policy',
  AttachmentRejected: 'attachment rejected by policy',
};

function sesOf(message: MailMessage, origin: Origin): Decision | undefined {
  const notification = parseSesNotification(message.text);
  return notification === undefined ? undefined : decideSes(notification, origin);
}

function decideSes(notification: SesNotification, origin: Origin): Decision {
  const originalMessageId = notification.mail?.commonHeaders?.messageId ?? origin.originalMessageId;
  if (notification.notificationType === 'Delivery') {
    return { kind: 'not-bounce', why: 'SES delivery notification', ...origin, originalMessageId };
  }
  if (notification.notificationType === 'Complaint') {
    return {
      kind: 'complaint',
      feedbackType: notification.complaint.complaintFeedbackType ?? 'abuse',
      recipients: notification.complaint.complainedRecipients.flatMap((entry) =>
        findAddresses(entry.emailAddress),
      ),
      ...origin,
      originalMessageId,
    };
  }
  const { bounceType, bounceSubType = '' } = notification.bounce;
  const permanent = bounceType === 'Permanent';
  const recipients = notification.bounce.bouncedRecipients.map((entry) =>
    toRecipient(
      findAddresses(entry.emailAddress)[0],
      parseStatusCode(entry.status ?? '') ?? (permanent ? '5.0.0' : '4.0.0'),
      `${entry.diagnosticCode ?? ''} ${SES_SUBTYPE_WORDS[bounceSubType] ?? ''}`.trim(),
      permanent ? 'failed' : 'delayed',
    ),
  );
  return { kind: 'bounce', recipients, ...origin, originalMessageId };
}

function unsubscribeOf(message: MailMessage, settings: ClassifySettings, text: string): Decision | undefined {
  const address = settings.unsubscribeAddress?.toLowerCase();
  if (address === undefined) return undefined;
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const recipients = [
    ...message.to,
    ...['delivered-to', 'x-original-to', 'envelope-to', 'x-envelope-to'].flatMap((name) =>
      header(message, name).flatMap(findAddresses),
    ),
  ];
  const addressed = recipients.some((candidate) => {
    const [candidateLocal = '', candidateDomain] = [
      candidate.slice(0, candidate.lastIndexOf('@')),
      candidate.slice(candidate.lastIndexOf('@') + 1),
    ];
    return candidateDomain === domain && (candidateLocal === local || candidateLocal.startsWith(`${local}+`));
  });
  if (!addressed) return undefined;
  const verp = findVerpToken(text, address, 'unsubscribe', settings.keys ?? []);
  return { kind: 'unsubscribe', address: message.from[0], verp };
}

function verpOf(text: string, settings: ClassifySettings): VerpMatch | undefined {
  return settings.bounceAddress === undefined
    ? undefined
    : findVerpToken(text, settings.bounceAddress, 'bounce', settings.keys ?? []);
}

/** A complaint of type not-spam is none; a report whose token does not verify was made by someone else. */
function acceptReport(report: Decision, origin: Origin): Decision {
  if (report.kind === 'complaint' && report.feedbackType === 'not-spam') {
    return { kind: 'not-bounce', why: 'feedback report of type not-spam', ...origin };
  }
  if (report.kind === 'not-bounce' || origin.verp?.status !== 'invalid') return report;
  return { kind: 'unknown', why: `${report.kind} with a forged VERP token`, ...origin };
}

/**
 * An SES notification received over HTTPS (SNS), decided as the same notification mailed to the return
 * mailbox would be: its `mail.source` is the VERP return path the copy carried. Undefined when it is none.
 */
export function classifySesNotification(text: string, settings: ClassifySettings = {}): Decision | undefined {
  const notification = parseSesNotification(text);
  if (notification === undefined) return undefined;
  const origin: Origin = { originalMessageId: undefined, verp: verpOf(text, settings) };
  return acceptReport(decideSes(notification, origin), origin);
}

export function classifyMessage(message: MailMessage, settings: ClassifySettings = {}): Decision {
  const text = allText(message);
  const verp = verpOf(text, settings);
  const original = originalOf(message, '');
  const origin: Origin = {
    originalMessageId: originalMessageId(message, original),
    verp,
  };
  // A token that does not verify was made by someone else: acting on it would let anyone suppress anyone.
  const forged = verp?.status === 'invalid';

  const report = complaintOf(message, origin, text) ?? sesOf(message, origin);
  if (report !== undefined) return acceptReport(report, origin);

  const status = deliveryStatusOf(message);
  if (status === 'delivered')
    return { kind: 'not-bounce', why: 'delivery report: delivered or relayed', ...origin };
  if (status !== undefined && status.length > 0) {
    return forged
      ? { kind: 'unknown', why: 'bounce with a forged VERP token', ...origin }
      : { kind: 'bounce', recipients: status, ...origin };
  }

  const autoHeader = autoReplyHeader(message);
  if (autoHeader !== undefined && !fromMailSystem(message))
    return { kind: 'auto-reply', why: autoHeader, ...origin };

  const unsubscribe = unsubscribeOf(message, settings, text);
  if (unsubscribe !== undefined) return unsubscribe;

  if (autoReplySubject(message.subject) && !fromMailSystem(message)) {
    return { kind: 'auto-reply', why: `subject "${message.subject}"`, ...origin };
  }

  if (looksLikeBounce(message)) {
    const recipients = textBounceOf(message, original, verp);
    if (recipients.length === 0)
      return { kind: 'unknown', why: 'a bounce that names no recipient', ...origin };
    if (forged) return { kind: 'unknown', why: 'bounce with a forged VERP token', ...origin };
    return { kind: 'bounce', recipients, ...origin };
  }
  if (autoHeader !== undefined) return { kind: 'auto-reply', why: autoHeader, ...origin };
  return { kind: 'not-bounce', why: 'neither a report nor an automatic reply', ...origin };
}
