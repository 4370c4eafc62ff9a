// CompiledEmail + reader → a complete MIME message for the send step (RFC 5322, 2045–2047, 2369, 8058).
// Everything all readers share is encoded once in prepareMessage; renderMessage encodes only the reader's parts.

import { createHash } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { KurierError } from '../error.ts';
import type { Site } from '../model.ts';
import { escapeHtml } from '../render/handlebars.ts';
import type { CompiledEmail, Reader } from './model.ts';
import { planReaderValues } from './render.ts';

/** What differs per message besides the reader: the send step mints and journals these. */
export interface MessageHeaders {
  /** "<…@domain>" */
  readonly messageId: string;
  readonly date: Date;
  /** RFC 2919, "Kurier <newsletter.kurier.example>" or just the id. */
  readonly listId: string;
  /** The address (or mailto: URL) that unsubscribes this reader by mail. */
  readonly unsubscribeMailto: string;
}

/** A body part ready to concatenate: quoted-printable text, and the fields to encode per reader. */
type EncodedPart = readonly (Buffer | { readonly field: string })[];

export interface PreparedMessage {
  readonly compiled: CompiledEmail;
  /** From, Reply-To, Subject: CRLF-terminated header lines. */
  readonly sharedHeaders: Buffer;
  /** MIME-Version through Content-Type, then the blank line and the first boundary with the text part's headers. */
  readonly bodyStart: Buffer;
  readonly text: EncodedPart;
  /** Boundary and headers of the HTML part. */
  readonly htmlStart: Buffer;
  readonly html: EncodedPart;
  /** The closing boundary. */
  readonly end: Buffer;
}

const CRLF = '\r\n';
/** RFC 5322 §2.1.1 */
const LINE_LENGTH = 78;

/** Who sends: the `email` settings of the site, or the copy a send froze. */
export interface Sender {
  readonly email: Pick<Site['email'], 'from' | 'replyTo'>;
}

export function prepareMessage(compiled: CompiledEmail, site: Sender): PreparedMessage {
  // "=_" cannot occur in quoted-printable output ("=" is always followed by hex digits or CRLF), so the
  // boundary never collides with the body (RFC 2045 §6.7, RFC 2046 §5.1.1). Derived from the content: stable.
  const digest = createHash('sha256').update(
    JSON.stringify([compiled.articleId, compiled.html, compiled.text]),
  );
  const boundary = `=_kurier_${digest.digest('hex').slice(0, 24)}`;
  const from = site.email.from;
  const shared = [
    headerLine('From', mailbox(from.name, from.email, 'From')),
    ...(site.email.replyTo === undefined
      ? []
      : [headerLine('Reply-To', mailbox('', site.email.replyTo, 'Reply-To'))]),
    headerLine('Subject', unstructured(compiled.subject, 'Subject'.length + 2)),
  ];
  const partHeaders = (type: string) =>
    `--${boundary}${CRLF}Content-Type: ${type}; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}`;
  const bodyStart = [
    headerLine('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'),
    headerLine('MIME-Version', '1.0'),
    headerLine('Content-Language', clean(compiled.lang)),
    headerLine('Content-Type', `multipart/alternative;${CRLF} boundary="${boundary}"`),
    CRLF,
    // Text first: RFC 2046 §5.1.4 puts the richest alternative last, and clients show the last one they can.
    partHeaders('text/plain'),
  ].join('');
  return {
    compiled,
    sharedHeaders: Buffer.from(shared.join(''), 'utf8'),
    bodyStart: Buffer.from(bodyStart, 'utf8'),
    text: encodeSegments(compiled.text),
    htmlStart: ascii(`${CRLF}${partHeaders('text/html')}`),
    html: encodeSegments(compiled.html),
    end: ascii(`${CRLF}--${boundary}--${CRLF}`),
  };
}

export function renderMessage(prepared: PreparedMessage, reader: Reader, headers: MessageHeaders): Buffer {
  const values = planReaderValues(prepared.compiled, reader);
  const readerHeaders = [
    headerLine('To', mailbox(reader.name, reader.email, 'To')),
    headerLine('Date', formatDate(headers.date)),
    headerLine('Message-ID', messageId(headers.messageId)),
    headerLine('List-Id', listId(headers.listId)),
    // RFC 2369 + RFC 8058: one header, HTTPS first (one-click), mailto as the fallback.
    headerLine(
      'List-Unsubscribe',
      `<${clean(reader.unsubscribeUrl)}>,${CRLF} <${mailtoUrl(headers.unsubscribeMailto)}>`,
    ),
  ].join('');
  const chunks: Buffer[] = [prepared.sharedHeaders, Buffer.from(readerHeaders, 'utf8'), prepared.bodyStart];
  const addPart = (part: EncodedPart, html: boolean) => {
    for (const piece of part) {
      if (Buffer.isBuffer(piece)) {
        chunks.push(piece);
      } else {
        // Control characters never reach the message, whatever the list or a frozen state holds.
        const value = (values[piece.field] ?? '').replace(READER_CONTROLS, ' ');
        if (value !== '') chunks.push(ascii(encodeQuotedPrintable(html ? escapeHtml(value) : value)));
      }
    }
  };
  addPart(prepared.text, false);
  chunks.push(prepared.htmlStart);
  addPart(prepared.html, true);
  chunks.push(prepared.end);
  return Buffer.concat(chunks);
}

function encodeSegments(segments: CompiledEmail['html']): EncodedPart {
  return segments.map((segment) =>
    typeof segment === 'string' ? ascii(encodeQuotedPrintable(segment)) : { field: segment.field },
  );
}

const HEX = '0123456789ABCDEF';

/**
 * Quoted-printable (RFC 2045 §6.7) of UTF-8 text. Every "\n" becomes a CRLF line break (the canonical form of
 * text, RFC 2046 §4.1.1); encoded lines stay within 76 characters. The result always ends in a soft line break
 * "=\r\n", so separately encoded pieces concatenate into one valid body and each starts a fresh line.
 */
export function encodeQuotedPrintable(text: string): string {
  if (text === '') return '';
  const out: string[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  lines.forEach((line, index) => {
    const bytes = Buffer.from(line, 'utf8');
    const last = index === lines.length - 1;
    let current = '';
    for (let i = 0; i < bytes.length; i += 1) {
      const byte = bytes[i] as number;
      const atLineEnd = i === bytes.length - 1 && !last;
      // Trailing blanks before a line break are lost in transport (§6.7 rule 3); "From " at a line start
      // is mangled by mbox stores.
      const literal =
        (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !atLineEnd);
      let token = literal ? String.fromCharCode(byte) : `=${HEX[byte >> 4]}${HEX[byte & 15]}`;
      if (i === 0 && byte === 70 && line.startsWith('From ')) token = '=46';
      if (current.length + token.length > 75) {
        out.push(`${current}=${CRLF}`);
        current = '';
      }
      current += token;
    }
    out.push(last ? `${current}=${CRLF}` : `${current}${CRLF}`);
  });
  return out.join('');
}

/** One header field, folded by the value's own CRLF-space points; the value must already be clean. */
function headerLine(name: string, value: string): string {
  return `${name}: ${value}${CRLF}`;
}

/** Control characters (CR and LF above all) leave every header value: no reader can add a header. */
function clean(value: string): string {
  return value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

// Every control character but the line break (which the text part encodes as CRLF), and the Unicode line
// separators: the Nu HTML checker calls them errors, and clients show them as boxes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const READER_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * Unstructured text (Subject): plain ASCII folded at spaces, otherwise RFC 2047 encoded-words (UTF-8, base64)
 * of at most 75 characters, one per line. `used` is the length of "Name: " on the first line.
 */
function unstructured(value: string, used: number): string {
  const text = clean(value);
  if (ASCII_PRINTABLE.test(text) && !text.includes('=?')) return fold(text.split(' '), used);
  return fold(encodedWords(text, used), used);
}

/** Joins tokens with spaces, breaking lines (CRLF + space) before a token that would pass column 78. */
function fold(tokens: readonly string[], used: number): string {
  let out = '';
  let column = used;
  for (const token of tokens) {
    if (out === '') {
      out = token;
      column += token.length;
    } else if (column + 1 + token.length <= LINE_LENGTH) {
      out += ` ${token}`;
      column += 1 + token.length;
    } else {
      out += `${CRLF} ${token}`;
      column = 1 + token.length;
    }
  }
  return out;
}

/** Encoded-words cut at character boundaries; the first fits after `used` columns, the rest after one space. */
function encodedWords(text: string, used: number): string[] {
  const words: string[] = [];
  let budget = Math.min(75, LINE_LENGTH - used);
  let chunk = '';
  const maxBytes = () => Math.floor((budget - '=?UTF-8?B??='.length) / 4) * 3;
  for (const char of text) {
    if (chunk !== '' && Buffer.byteLength(chunk + char, 'utf8') > maxBytes()) {
      words.push(`=?UTF-8?B?${Buffer.from(chunk, 'utf8').toString('base64')}?=`);
      chunk = '';
      budget = 75;
    }
    chunk += char;
  }
  if (chunk !== '') words.push(`=?UTF-8?B?${Buffer.from(chunk, 'utf8').toString('base64')}?=`);
  return words;
}

/** "Name <local@domain>": the name quoted or encoded, the domain in punycode (IDNA), the address clean. */
function mailbox(name: string, email: string, header: string): string {
  const used = header.length + 2;
  const address = addrSpec(email);
  const display = clean(name);
  if (display === '') return address;
  const phrase = ASCII_PRINTABLE.test(display)
    ? [`"${display.replace(/[\\"]/g, '\\$&')}"`]
    : encodedWords(display, used);
  return fold([...phrase, `<${address}>`], used);
}

function addrSpec(email: string): string {
  const text = clean(email).replace(/\s+/g, '');
  const at = text.lastIndexOf('@');
  const domain = at > 0 ? domainToASCII(text.slice(at + 1)) : '';
  if (domain === '') {
    throw new KurierError('EMAIL_INVALID', `"${text}" is not a usable email address: expected local@domain.`);
  }
  const local = text.slice(0, at);
  // RFC 5322 dot-atom, or a quoted-string; a UTF-8 local part stays UTF-8 (RFC 6532, needs SMTPUTF8).
  const dotAtom = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u.test(local);
  return `${dotAtom ? local : `"${local.replace(/[\\"]/g, '\\$&')}"`}@${domain}`;
}

function messageId(value: string): string {
  const id = clean(value).replace(/\s+/g, '');
  if (!/^<[^<>@]+@[^<>@]+>$/.test(id)) {
    throw new KurierError('EMAIL_INVALID', `"${id}" is not a Message-ID: expected "<unique@domain>".`);
  }
  return id;
}

function listId(value: string): string {
  const text = clean(value);
  const match = /^(.*?)\s*<([^<>]+)>$/.exec(text);
  const id = (match?.[2] ?? text).replace(/\s+/g, '');
  const phrase = match?.[1] ?? '';
  if (phrase === '') return `<${id}>`;
  const words = ASCII_PRINTABLE.test(phrase) ? phrase.split(' ') : encodedWords(phrase, 'List-Id: '.length);
  return fold([...words, `<${id}>`], 'List-Id: '.length);
}

function mailtoUrl(value: string): string {
  const text = clean(value).replace(/\s+/g, '');
  return /^mailto:/i.test(text) ? text : `mailto:${text}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC with a numeric zone ("GMT" is the obsolete form). */
export function formatDate(date: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

function ascii(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}
