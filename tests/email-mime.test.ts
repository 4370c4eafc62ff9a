// The MIME message of one reader: headers, multipart/alternative, encodings, byte for byte.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileEmail } from '../src/email/compile.ts';
import {
  encodeQuotedPrintable,
  type MessageHeaders,
  prepareMessage,
  renderMessage,
} from '../src/email/mime.ts';
import type { Reader } from '../src/email/model.ts';
import { readEmailTemplates } from '../src/email/read-templates.ts';
import { prepareEmail, renderEmail } from '../src/email/render.ts';
import { KurierError } from '../src/error.ts';
import { makeArticle, makeSite } from './support/fixtures.ts';
import { type AddressObject, parseMessage } from './support/smtp.ts';

const templates = await readEmailTemplates(path.resolve(import.meta.dirname, '..', 'templates'));
const site = makeSite({
  email: {
    ...makeSite().email,
    from: { name: 'Kurier – Essays über Städte', email: 'newsletter@kurier.example' },
  },
});
const article = makeArticle({
  title: 'Grüße aus Bochum – „Glück auf“: Wie eine Stadt nach Opel und Nokia neu anfängt und weitermacht',
  html: '<p>Größere Maßstäbe – „Fördertürme“ ä ö ü ß.</p>\n<p>Zeile = Gleichung, From here.</p>\n',
});
const compiled = await compileEmail(site, article, templates);
const preparedMessage = prepareMessage(compiled, site);
const preparedEmail = prepareEmail(compiled);

const headers: MessageHeaders = {
  messageId: '<2026-11-26.anna@kurier.example>',
  date: new Date('2026-11-26T07:00:00Z'),
  listId: 'Kurier <newsletter.kurier.example>',
  unsubscribeMailto: 'abmelden@kurier.example?subject=abmelden',
};

const reader = (overrides: Partial<Reader> = {}): Reader => ({
  email: 'anna@example.org',
  name: 'Anna Müller',
  unsubscribeUrl: 'https://kurier.example/abmelden?token=t0k3n&list=1',
  fields: {},
  ...overrides,
});

async function parse(message: Buffer) {
  return parseMessage(message);
}

function headerBlock(message: Buffer): string {
  const raw = message.toString('utf8');
  return raw.slice(0, raw.indexOf('\r\n\r\n') + 2);
}

describe('renderMessage', () => {
  it('builds multipart/alternative with text first, then HTML, both UTF-8 quoted-printable', async () => {
    const message = renderMessage(preparedMessage, reader(), headers);
    const raw = message.toString('utf8');
    const text = raw.indexOf(
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable',
    );
    const html = raw.indexOf(
      'Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable',
    );
    expect(text).toBeGreaterThan(0);
    expect(html).toBeGreaterThan(text);
    const parsed = await parse(message);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.text).toContain('Größere Maßstäbe – „Fördertürme“ ä ö ü ß.');
    expect(parsed.html).toContain('Größere Maßstäbe – „Fördertürme“ ä ö ü ß.');
  });

  it('decodes to exactly what renderEmail gives that reader, HTML and text', async () => {
    for (const one of [
      reader(),
      reader({ name: '<script>alert(1)</script>' }),
      reader({ name: '{{x}} {{{y}}} & =?UTF-8?B?QQ==?=' }),
      reader({ name: 'Jürgen Groß', unsubscribeUrl: 'https://kurier.example/abmelden?token=a=b&c=ä' }),
    ]) {
      const parsed = await parse(renderMessage(preparedMessage, one, headers));
      const expected = renderEmail(preparedEmail, one);
      expect(parsed.html).toBe(expected.html);
      expect(parsed.text).toBe(expected.text);
    }
  });

  it('shows hostile names as text', async () => {
    const parsed = await parse(renderMessage(preparedMessage, reader({ name: '<script>{{x}}' }), headers));
    expect(parsed.html).toContain('Hallo &lt;script&gt;{{x}},');
    expect(parsed.html).not.toContain('<script>');
    expect(parsed.text).toContain('Hallo <script>{{x}},');
    expect((parsed.to as AddressObject).value[0]?.name).toBe('<script>{{x}}');
  });

  it('has the title as subject, folded into encoded-words of at most 78 columns', async () => {
    const message = renderMessage(preparedMessage, reader(), headers);
    expect((await parse(message)).subject).toBe(article.title);
    const block = headerBlock(message);
    expect(block).toMatch(/^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=\r\n =\?UTF-8\?B\?/m);
    for (const line of block.split('\r\n')) expect(line.length, line).toBeLessThanOrEqual(78);
  });

  it('encodes sender and reader names, and punycodes an international domain', async () => {
    const message = renderMessage(preparedMessage, reader({ email: 'anna@bücher.example' }), headers);
    const block = headerBlock(message);
    expect(block).toContain('<newsletter@kurier.example>');
    expect(block).toContain('<anna@xn--bcher-kva.example>');
    expect(block).not.toMatch(/[^\x20-\x7e\r\n]/);
    const parsed = await parse(message);
    expect(parsed.from?.value[0]).toEqual({
      name: 'Kurier – Essays über Städte',
      address: 'newsletter@kurier.example',
    });
    expect((parsed.to as AddressObject).value[0]?.name).toBe('Anna Müller');
    expect(parsed.replyTo?.value[0]?.address).toBe('redaktion@kurier.example');
  });

  it('lets no reader add a header (CR/LF in a name)', async () => {
    const message = renderMessage(
      preparedMessage,
      reader({ name: 'Eve\r\nBcc: x@y', email: 'eve@example.org' }),
      headers,
    );
    const parsed = await parse(message);
    const keys = parsed.headerLines.map((line) => line.key);
    expect(keys).not.toContain('bcc');
    expect(keys.filter((key) => key === 'to')).toHaveLength(1);
    expect(headerBlock(message)).not.toMatch(/^Bcc:/im);
    expect((parsed.to as AddressObject).value).toEqual([
      { name: 'Eve Bcc: x@y', address: 'eve@example.org' },
    ]);
  });

  it('has one List-Unsubscribe header with HTTPS and mailto, and RFC 8058 one-click', async () => {
    const parsed = await parse(renderMessage(preparedMessage, reader(), headers));
    const unsubscribe = parsed.headerLines.filter((line) => line.key === 'list-unsubscribe');
    expect(unsubscribe).toHaveLength(1);
    expect(unsubscribe[0]?.line.replace(/\r\n /g, ' ')).toBe(
      'List-Unsubscribe: <https://kurier.example/abmelden?token=t0k3n&list=1>, <mailto:abmelden@kurier.example?subject=abmelden>',
    );
    expect(parsed.headerLines.find((line) => line.key === 'list-unsubscribe-post')?.line).toBe(
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    );
    expect(parsed.headerLines.find((line) => line.key === 'list-id')?.line).toBe(
      'List-Id: Kurier <newsletter.kurier.example>',
    );
  });

  it('carries Date (RFC 5322, numeric zone), Message-ID and MIME-Version', async () => {
    const message = renderMessage(preparedMessage, reader(), headers);
    const block = headerBlock(message);
    expect(block).toContain('\r\nDate: Thu, 26 Nov 2026 07:00:00 +0000\r\n');
    expect(block).toContain('\r\nMessage-ID: <2026-11-26.anna@kurier.example>\r\n');
    expect(block).toContain('\r\nMIME-Version: 1.0\r\n');
    const parsed = await parse(message);
    expect(parsed.messageId).toBe('<2026-11-26.anna@kurier.example>');
    expect(parsed.date?.toISOString()).toBe('2026-11-26T07:00:00.000Z');
  });

  it('uses CRLF only, body lines within 76 characters, and a boundary QP cannot produce', () => {
    const raw = renderMessage(preparedMessage, reader(), headers).toString('utf8');
    expect(raw).not.toMatch(/[^\r]\n/);
    expect(raw).not.toMatch(/\r[^\n]/);
    const boundary = /boundary="([^"]+)"/.exec(raw)?.[1] ?? '';
    expect(boundary).toContain('=_');
    expect(raw.split(`--${boundary}`)).toHaveLength(4);
    const body = raw.slice(raw.indexOf('\r\n\r\n'));
    for (const line of body.split('\r\n')) expect(line.length, line).toBeLessThanOrEqual(76);
  });

  it('is deterministic, and refuses a malformed Message-ID', () => {
    expect(renderMessage(preparedMessage, reader(), headers)).toEqual(
      renderMessage(preparedMessage, reader(), headers),
    );
    expect(() => renderMessage(preparedMessage, reader(), { ...headers, messageId: 'no-brackets' })).toThrow(
      KurierError,
    );
  });
});

describe('encodeQuotedPrintable', () => {
  it('encodes =, non-ASCII and blanks before a line break; ends with a soft break', () => {
    expect(encodeQuotedPrintable('a=b ä \nFrom x')).toBe('a=3Db =C3=A4=20\r\n=46rom x=\r\n');
  });

  it('breaks long lines softly without splitting an escape', () => {
    const encoded = encodeQuotedPrintable('ä'.repeat(40));
    const lines = encoded.split('\r\n');
    expect(lines.every((line) => line.length <= 76)).toBe(true);
    expect(lines.every((line) => line === '' || /^(=[0-9A-F]{2})*=$/.test(line))).toBe(true);
  });

  it('leaves the empty string empty, so an empty reader field adds nothing', () => {
    expect(encodeQuotedPrintable('')).toBe('');
  });
});
