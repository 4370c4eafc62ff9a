// Bounces written as prose (qmail, older Exim and Postfix, Exchange, Gmail, Yahoo, Sendmail and their
// kin): where the report ends and the returned message begins, which addresses failed, and what was said
// about each one.

import { findAddresses } from './fields.ts';

/**
 * The lines with which mail systems introduce the returned message. Each is a phrase a report never uses
 * for anything else; the first header of a returned message ends the report too.
 */
const ORIGINAL_STARTS = [
  /^[ \t]*-+ ?(?:Below this line is a copy of the message|This is a copy of the message|Enclosed is a copy of the message|Original message|Original Message follows|Returned message|Unsent Message below|Forwarded message|The header of the original message|Undelivered Message Headers|Headers of the (?:original|returned) message|original message headers|Message text follows|Returned mail follows|Original Message Header|Received message)/im,
  /^[ \t]*(?:Message headers follow\.|-+ ?(?:Original|Returned|Undelivered|Unsent) message(?: headers)?(?: follows)?\b)/im,
  /^[ \t]*(?:\*+|-+|=+)?[ \t]*(?:Original message|Returned message|Text of the original message|Original message follows|Headers of your message)\b/im,
  /^(?:Return-Path|Received|DKIM-Signature|Message-I[Dd]|X-Received|Authentication-Results|ARC-Seal):[ \t]?\S/m,
];

export interface SplitText {
  readonly report: string;
  readonly original: string;
}

export function splitReport(text: string): SplitText {
  let end = text.length;
  for (const pattern of ORIGINAL_STARTS) {
    const match = pattern.exec(text);
    if (match !== null && match.index < end && match.index > 0) end = match.index;
  }
  return { report: text.slice(0, end), original: text.slice(end) };
}

/** Local parts that belong to mail systems, never to a reader whose mail failed. */
const SYSTEM_LOCAL =
  /^(?:mailer-daemon|post_?master|bounces?\+.*|mail-?daemon|mailerdaemon|double-bounce|bounce[sd]?|no-?reply|abuse|hostmaster|root|daemon|mail delivery)$/i;

export function isSystemAddress(address: string): boolean {
  return SYSTEM_LOCAL.test(address.slice(0, address.lastIndexOf('@')));
}

/**
 * Addresses the report names in a recipient's place: an address at the start of a line (qmail's `<a>:`,
 * Postfix's `<a>: host … said`, Exim's indented list, Gmail's and Exchange's lists), after "RCPT TO:", or
 * after a phrase such as "to" / "recipient"; anything that is the sender's, a system's, or ours is left out.
 */
export function findFailedRecipients(report: string, excluded: ReadonlySet<string>): string[] {
  // Senders quoted in the report ("MAIL FROM: a@…", "From: a@…" in a summary of the message) are no recipients.
  const senders = [
    ...report.matchAll(/\b(?:MAIL FROM:?|From:|Sender:|Reply-To:|Return-Path:)[ \t]*(.*)$/gim),
  ].flatMap((match) => findAddresses(match[1] as string).slice(0, 1));
  const exclude = new Set([...excluded, ...senders]);
  const strong: string[] = [];
  const linePatterns = [
    /^[ \t]*<?([^\s<>@]+@[^\s<>]+?)>?:?[ \t]*(?:$|:|\(|\[|on |\.\.\.|,|<|[A-Z][a-z]+|host |SMTP |Invalid |user |Mailbox |mailbox |The |Remote |unknown|error)/gim,
    /\bRCPT TO:?\s*<([^\s<>@]+@[^\s<>]+)>/gi,
    // Sendmail's transcript: `554 <a@example.org>... Host unknown`.
    /^[ \t]*[45]\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3} )?<([^\s<>@]+@[^\s<>]+)>/gm,
    /\b(?:to|recipient|for|address|addressee|rcpt|destinataire|Empfänger|destinatario|adresse)[:\s]+<?([^\s<>@"(),;]+@[^\s<>"(),;:]+?)>?[\s.,:;)]/gi,
    /\b(?:Original|Final)-Recipient:\s*(?:rfc822;\s*)?<?([^\s<>@]+@[^\s<>]+?)>?\s/gi,
  ];
  for (const pattern of linePatterns) {
    for (const match of report.matchAll(pattern)) {
      const address = findAddresses(match[1] as string)[0];
      if (address !== undefined && !exclude.has(address) && !isSystemAddress(address)) strong.push(address);
    }
  }
  const ordered = findAddresses(report).filter((address) => strong.includes(address));
  if (ordered.length > 0) return ordered;
  return findAddresses(report).filter((address) => !exclude.has(address) && !isSystemAddress(address));
}

/** The part of the report about one recipient: from its first mention to the next recipient's. */
export function segmentFor(report: string, address: string, all: readonly string[]): string {
  const lower = report.toLowerCase();
  const start = lower.indexOf(address);
  if (start === -1) return report;
  let end = report.length;
  for (const other of all) {
    if (other === address) continue;
    const at = lower.indexOf(other, start + address.length);
    if (at !== -1 && at < end) end = at;
  }
  // The line the address stands on often holds the reason too ("<a>: 550 5.1.1 …"): start there.
  const lineStart = report.lastIndexOf('\n', start) + 1;
  return report.slice(lineStart, end);
}

/** Wording of reports on mail not yet given up: the reader is not (yet) lost. */
export const DELAY_WORDING =
  /\b(?:will (?:continue|keep) (?:trying|to try|retrying)|will (?:be )?retr(?:y|ied)|still (?:trying|being retried)|has not (?:yet )?been delivered|not (?:yet )?been delivered|delivery (?:is |has been )?delayed|temporar(?:y|ily) (?:failure|error|problem|unable)|this is (?:a|only a) warning|no action is required on your part|delivery attempts will continue|delayed mail|could not (?:yet )?be delivered|retry (?:until|for)|warning: message .* still undelivered)/i;

export const DELAY_SUBJECT =
  /\b(?:delay(?:ed)?|warning|still being retried|not yet delivered|temporar(?:y|ily)|Zustellung verzögert|Verzögert)\b/i;

export const PERMANENT_WORDING =
  /\b(?:permanent(?:ly)? (?:error|failure|fatal|failed)|fatal errors?|I've given up|giving up|could not be delivered|couldn't be delivered|undeliverable|was not delivered|delivery (?:has )?failed|failed permanently|unable to deliver)\b/i;
