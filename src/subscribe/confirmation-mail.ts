// The confirmation mail of a sign-up: templates/confirm.mjml.hbs and confirm.txt.hbs, filled and compiled by
// MJML once at start (with markers where the reader's greeting and link go), then one cheap MIME message per mail.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { renderMjml } from '../email/compile.ts';
import { encodeQuotedPrintable, formatDate } from '../email/mime.ts';
import { KurierError } from '../error.ts';
import { compileTemplate, escapeHtml } from '../render/handlebars.ts';
import { planSubscriptionStrings } from './strings.ts';

export const CONFIRM_HTML_TEMPLATE = 'confirm.mjml.hbs';
export const CONFIRM_TEXT_TEMPLATE = 'confirm.txt.hbs';

export interface ConfirmationTemplates {
  readonly html: { readonly file: string; readonly source: string };
  readonly text: { readonly file: string; readonly source: string };
  /** templates/email-partials/*.hbs, shared with the newsletter ({{> font-sans}}). */
  readonly partials: Readonly<Record<string, string>>;
}

export async function readConfirmationTemplates(templatesDir: string): Promise<ConfirmationTemplates> {
  const read = async (name: string) => {
    const file = path.posix.join('templates', name);
    try {
      return { file, source: await readFile(path.join(templatesDir, name), 'utf8') };
    } catch (error) {
      throw new KurierError(
        'TEMPLATE_INVALID',
        `cannot read the confirmation mail template (${(error as Error).message}); restore it from Kurier's templates/ folder.`,
        { file, cause: error },
      );
    }
  };
  const names = await readdir(path.join(templatesDir, 'email-partials')).catch(() => [] as string[]);
  const partials: Record<string, string> = {};
  for (const name of names.filter((entry) => entry.endsWith('.hbs'))) {
    partials[name.slice(0, -'.hbs'.length)] = (await read(path.posix.join('email-partials', name))).source;
  }
  return { html: await read(CONFIRM_HTML_TEMPLATE), text: await read(CONFIRM_TEXT_TEMPLATE), partials };
}

export interface ConfirmationSite {
  readonly title: string;
  readonly url: string;
  readonly language: string;
  readonly imprint: readonly string[];
  readonly from: { readonly name: string; readonly email: string };
}

/** What the templates see; the reader's parts are markers until a mail is made. */
export interface ConfirmationMailData {
  readonly lang: string;
  readonly subject: string;
  readonly site: { readonly title: string; readonly url: string };
  readonly greeting: string;
  readonly text: string;
  readonly button: string;
  readonly confirmUrl: string;
  readonly ignore: string;
  readonly linkHint: string;
  readonly imprint: readonly string[];
}

export interface ConfirmationReader {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly confirmUrl: string;
  readonly date: Date;
}

export type ConfirmationMailer = (reader: ConfirmationReader) => Buffer;

// Plain ASCII words: neither HTML escaping, MJML nor its CSS inliner changes them.
const GREETING = '__kurier_confirm_greeting__';
const URL_MARK = '__kurier_confirm_url__';

const CRLF = '\r\n';

function encodeWords(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  // RFC 2047 encoded words of at most 75 characters: 45 bytes of UTF-8 in base64, whole characters only.
  const words: string[] = [];
  let chunk = '';
  for (const char of text) {
    if (Buffer.byteLength(chunk + char) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word).toString('base64')}?=`).join(`${CRLF} `);
}

function mailbox(name: string, email: string): string {
  const clean = name.replace(/[\r\n]+/g, ' ').trim();
  if (clean === '') return `<${email}>`;
  if (/^[\x20-\x7e]*$/.test(clean)) return `"${clean.replace(/["\\]/g, '\\$&')}" <${email}>`;
  return `${encodeWords(clean)} <${email}>`;
}

/** Compiles the templates once (MJML strict): a broken template stops `kurier server` at start. */
export async function prepareConfirmationMail(
  templates: ConfirmationTemplates,
  site: ConfirmationSite,
): Promise<ConfirmationMailer> {
  const strings = planSubscriptionStrings(site.language);
  const subject = strings.mailSubject(site.title);
  const data: ConfirmationMailData = {
    lang: site.language,
    subject,
    site: { title: site.title, url: site.url },
    greeting: GREETING,
    text: strings.mailText(site.title),
    button: strings.mailButton,
    confirmUrl: URL_MARK,
    ignore: strings.mailIgnore,
    linkHint: strings.mailLinkHint,
    imprint: site.imprint,
  };
  const html = await renderMjml(
    compileTemplate(templates.html.source, { file: templates.html.file, partials: templates.partials })(data),
    [templates.html],
  );
  const text = compileTemplate(templates.text.source, { file: templates.text.file, noEscape: true })(data);
  for (const [output, file] of [
    [html, templates.html.file],
    [text, templates.text.file],
  ] as const) {
    if (!output.includes(URL_MARK)) {
      throw new KurierError(
        'TEMPLATE_INVALID',
        'the confirmation mail has no {{confirmUrl}}: readers could not confirm.',
        {
          file,
        },
      );
    }
  }
  const domain = site.from.email.slice(site.from.email.lastIndexOf('@') + 1);
  const boundary = '=_kurier_confirm';
  const fill = (template: string, greeting: string, url: string) =>
    template.replaceAll(GREETING, greeting).replaceAll(URL_MARK, url);
  return (reader) => {
    const greeting = reader.name === '' ? strings.mailGreeting : strings.mailGreetingNamed(reader.name);
    const headers = [
      `From: ${mailbox(site.from.name, site.from.email)}`,
      `To: <${reader.email}>`,
      `Subject: ${encodeWords(subject)}`,
      `Date: ${formatDate(reader.date)}`,
      // The same job always gets the same Message-ID: a mail sent twice after a crash is one to the reader.
      `Message-ID: <confirm.${reader.id}@${domain}>`,
      // RFC 3834: no auto-replies to this.
      'Auto-Submitted: auto-generated',
      'MIME-Version: 1.0',
      `Content-Language: ${site.language}`,
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
    ];
    const part = (type: string, body: string) =>
      `--${boundary}${CRLF}Content-Type: ${type}; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}${encodeQuotedPrintable(body)}${CRLF}`;
    return Buffer.from(
      [
        headers.join(CRLF),
        CRLF,
        CRLF,
        part('text/plain', fill(text, greeting, reader.confirmUrl)),
        part('text/html', fill(html, escapeHtml(greeting), escapeHtml(reader.confirmUrl))),
        `--${boundary}--${CRLF}`,
      ].join(''),
      'utf8',
    );
  };
}
