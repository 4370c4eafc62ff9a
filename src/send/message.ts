// The email↔send seam: an article's compiled email, frozen with what a send adds to it (sender, List-Id,
// unsubscribe links, Message-IDs), and one reader's complete message made from it.

import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { prepareMessage, renderMessage } from '../email/mime.ts';
import { type CompiledEmail, EXTRA_FIELD_PREFIX } from '../email/model.ts';
import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { z } from '../schema.ts';
import { parseJsonLine, writeFileAtomic } from './files.ts';
import type { Recipient } from './recipients.ts';

/**
 * Deterministic per (article, reader), on the publication's domain: a copy sent again after a crash
 * carries the same Message-ID, so mail clients and providers that deduplicate by it show it once.
 */
export function messageIdOf(articleId: string, key: string, domain: string): string {
  const hash = createHash('sha256').update(`${articleId}\n${key}`).digest('base64url').slice(0, 32);
  return `<${hash}@${domain}>`;
}

/** Stands in for the token when no KURIER_SECRET is set; only dry runs and the outbox accept it. */
export const FAKE_TOKEN = 'NO-SECRET-fake-token-set-KURIER_SECRET';

/**
 * The unsubscribe token: HMAC-SHA256 of the lowercased address. The unsubscribe endpoint recomputes it
 * for the address it is given, so no database of tokens is needed and nobody can unsubscribe others.
 */
export function unsubscribeTokenOf(secret: string | undefined, key: string): string {
  if (secret === undefined) return FAKE_TOKEN;
  return createHmac('sha256', secret).update(key).digest('base64url');
}

/** The token is base64url, so it goes into the query as is (no URL object per reader: a million of them add up). */
export function unsubscribeUrlOf(base: string, token: string): string {
  const hash = base.indexOf('#');
  const [head, fragment] = hash === -1 ? [base, ''] : [base.slice(0, hash), base.slice(hash)];
  return `${head}${head.includes('?') ? '&' : '?'}token=${token}${fragment}`;
}

/** The mailto: URL of List-Unsubscribe; a subject lets the receiving mailbox's filter act on it (RFC 2369 §3.2). */
export function unsubscribeMailtoOf(address: string): string {
  const url = /^mailto:/i.test(address) ? address : `mailto:${address}`;
  return url.includes('?') ? url : `${url}?subject=unsubscribe`;
}

/** The domain of the publication: Message-IDs and List-Id live under it. */
export function domainOf(baseUrl: string): string {
  return new URL(baseUrl).hostname;
}

/** Stored in the send's folder when the list is frozen: a resumed send sends exactly this. */
export const MESSAGE_FILE = 'message.json';

const segmentsSchema = z.array(z.union([z.string(), z.object({ field: z.string() })]));

const compiledSchema = z.object({
  articleId: z.string(),
  sourcePath: z.string(),
  subject: z.string(),
  lang: z.string(),
  html: segmentsSchema,
  text: segmentsSchema,
  readerFields: z.array(z.string()),
  greeting: z.object({ named: z.tuple([z.string(), z.string()]), anonymous: z.string() }),
  webUnsubscribeUrl: z.string(),
  htmlBytes: z.number(),
  warnings: z.array(z.string()),
});

const frozenSchema = z.object({
  version: z.literal(1),
  articleId: z.string(),
  slug: z.string(),
  title: z.string(),
  /** 0 for the first send of an article; each `--new-send` counts up, and gets new Message-IDs. */
  edition: z.number().int().nonnegative(),
  email: z.object({
    from: z.object({ name: z.string(), email: z.string() }),
    replyTo: z.string().optional(),
  }),
  /** The publication's domain: Message-IDs and List-Id live under it. */
  domain: z.string(),
  listId: z.string(),
  unsubscribeUrl: z.string(),
  unsubscribeMailto: z.string(),
  compiled: z.custom<CompiledEmail>((value) => compiledSchema.safeParse(value).success),
});

/** Everything every copy of one send shares; plain data, so it can be stored and compared. */
export type FrozenMessage = z.output<typeof frozenSchema>;

/** Pure: what a send of `article` sends, from the build's compiled email and the site settings. */
export function frozenMessageOf(
  site: Site,
  article: Article,
  compiled: CompiledEmail,
  edition = 0,
): FrozenMessage {
  const domain = domainOf(site.baseUrl);
  return {
    version: 1,
    articleId: article.id,
    slug: article.slug,
    title: article.title,
    edition,
    email: {
      from: { name: site.email.from.name, email: site.email.from.email },
      ...(site.email.replyTo === undefined ? {} : { replyTo: site.email.replyTo }),
    },
    domain,
    listId: `${site.title} <newsletter.${domain}>`,
    unsubscribeUrl: site.email.unsubscribeUrl,
    unsubscribeMailto: unsubscribeMailtoOf(site.email.unsubscribeMailto),
    compiled: JSON.parse(JSON.stringify(compiled)) as CompiledEmail,
  };
}

/** Whether two frozen messages make the same copies (the edition aside). */
export function sameMessage(a: FrozenMessage, b: FrozenMessage): boolean {
  return JSON.stringify({ ...a, edition: 0 }) === JSON.stringify({ ...b, edition: 0 });
}

export async function writeFrozenMessage(dir: string, message: FrozenMessage): Promise<void> {
  await writeFileAtomic(path.join(dir, MESSAGE_FILE), `${JSON.stringify(message)}\n`);
}

/** The message a send froze; undefined for a send frozen before Kurier stored it. */
export async function readFrozenMessage(dir: string): Promise<FrozenMessage | undefined> {
  const file = path.join(dir, MESSAGE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const message = parseJsonLine(frozenSchema, text.trim());
  if (message === undefined) {
    throw new KurierError(
      'STATE_INVALID',
      'the frozen message of this send is damaged; restore it from a backup, or start a new send with kurier publish --new-send (everyone gets the email again).',
      { file },
    );
  }
  return message;
}

/** One reader's complete message; the same reader and date give the same bytes. */
export interface MessageMaker {
  readonly message: FrozenMessage;
  /** Empty values for the list columns the templates use: a test copy has no row in the list. */
  readonly emptyFields: Readonly<Record<string, string>>;
  render(recipient: Recipient, date: Date): Buffer;
}

export function prepareMessageMaker(message: FrozenMessage, secret: string | undefined): MessageMaker {
  const { compiled } = message;
  const prepared = prepareMessage(compiled, { email: message.email });
  const idBase = message.edition === 0 ? message.articleId : `${message.articleId}#${message.edition}`;
  const emptyFields = Object.fromEntries(
    compiled.readerFields
      .filter((field) => field.startsWith(EXTRA_FIELD_PREFIX))
      .map((field) => [field.slice(EXTRA_FIELD_PREFIX.length), '']),
  );
  return {
    message,
    emptyFields,
    render(recipient, date) {
      const key = recipient.email.toLowerCase();
      const token = unsubscribeTokenOf(secret, key);
      return renderMessage(
        prepared,
        {
          email: recipient.email,
          name: recipient.name,
          unsubscribeUrl: unsubscribeUrlOf(message.unsubscribeUrl, token),
          fields: recipient.fields,
        },
        {
          messageId: messageIdOf(idBase, key, message.domain),
          date,
          listId: message.listId,
          unsubscribeMailto: message.unsubscribeMailto,
        },
      );
    },
  };
}
