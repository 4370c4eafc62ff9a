// Raw RFC 5322 bytes → a plain MailMessage (headers, readable text, attached parts): the one file that imports
// mailparser, so the classifier works on our own type and an upgrade of the parser is read here only.

import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';

export type { AddressObject, ParsedMail };

/** mailparser's full reading of a message, for the tests that check what a mail client would see. */
export function parseMime(raw: Buffer | string): Promise<ParsedMail> {
  return simpleParser(raw);
}

export interface MailHeader {
  /** Lowercased field name. */
  readonly name: string;
  /** Unfolded value, still encoded as on the wire for fields mailparser does not decode. */
  readonly value: string;
}

export interface MailPart {
  /** Lowercased MIME type without parameters, e.g. `message/rfc822`, `message/feedback-report`. */
  readonly type: string;
  readonly text: string;
}

export interface MailMessage {
  readonly headers: readonly MailHeader[];
  readonly subject: string;
  readonly messageId: string | undefined;
  /** Lowercased addresses of From, To, Cc. */
  readonly from: readonly string[];
  readonly to: readonly string[];
  /** Lowercased top-level MIME type and its report-type parameter (RFC 6522), when any. */
  readonly contentType: string;
  readonly reportType: string | undefined;
  /**
   * The readable text: the text/plain parts (mailparser also puts message/delivery-status here), or the
   * HTML's text, or, when the MIME structure is too broken to parse, the raw body.
   */
  readonly text: string;
  /** Attached parts that are not images or binaries: the returned message, its headers, the feedback report. */
  readonly parts: readonly MailPart[];
  /**
   * The message as received (latin1, so any byte survives): mailparser renders an inline message/rfc822 as
   * text with a few of its headers, and a token or a feedback-loop header may sit in one it drops.
   */
  readonly raw: string;
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const out: string[] = [];
  const walk = (entries: AddressObject['value']) => {
    for (const entry of entries) {
      if (entry.address) out.push(entry.address.toLowerCase());
      if (entry.group) walk(entry.group);
    }
  };
  for (const object of objects) walk(object.value);
  return out;
}

const TEXT_PART = /^(?:text\/|message\/)/;

function rawBody(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return end === -1 ? '' : text.slice(end).trim();
}

/** What is left when mailparser gives up: the raw body as text, so the message can still be decided or listed. */
function unparsed(raw: Buffer): MailMessage {
  return {
    headers: [],
    subject: '',
    messageId: undefined,
    from: [],
    to: [],
    contentType: 'text/plain',
    reportType: undefined,
    text: rawBody(raw),
    parts: [],
    raw: raw.toString('latin1'),
  };
}

/** Never throws on malformed mail: bounces are often malformed, and each one still has to be decided. */
export async function parseMail(raw: Buffer): Promise<MailMessage> {
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, keepCidLinks: true });
  } catch {
    return unparsed(raw);
  }
  const contentType = parsed.headers.get('content-type') as {
    value?: string;
    params?: Record<string, string>;
  };
  const parts = parsed.attachments
    .filter((attachment) => TEXT_PART.test(attachment.contentType.toLowerCase()))
    .map((attachment) => ({
      type: attachment.contentType.toLowerCase().split(/[;\s]/)[0] as string,
      text: attachment.content.toString('utf8'),
    }));
  // Reports sent as text attachments (McAfee's deliveryproblems.txt) or behind a broken MIME header are
  // still the report: they join the readable text.
  const text = [parsed.text, ...parts.filter((part) => part.type === 'text/plain').map((part) => part.text)]
    .filter((chunk) => chunk !== undefined && chunk.trim() !== '')
    .join('\n\n')
    .trim();
  return {
    headers: parsed.headerLines.map((line) => ({
      name: line.key,
      value: line.line
        .slice(line.line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim(),
    })),
    subject: parsed.subject ?? '',
    messageId: parsed.messageId,
    from: addresses(parsed.from),
    to: [...addresses(parsed.to), ...addresses(parsed.cc)],
    contentType: (contentType?.value ?? 'text/plain').toLowerCase(),
    reportType: contentType?.params?.['report-type']?.toLowerCase(),
    text: text !== '' || parts.length > 0 ? text : rawBody(raw),
    parts,
    raw: raw.toString('latin1'),
  };
}
