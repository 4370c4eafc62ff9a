// The email↔send seam: an article's compiled email, frozen with what a send adds to it (sender, List-Id,
// unsubscribe links, Message-IDs), and one reader's complete message made from it.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledEmail } from '../email/compile.ts';
import { prepareMessage, renderMessage } from '../email/mime.ts';
import { EXTRA_FIELD_PREFIX } from '../email/render.ts';
import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { z } from '../schema.ts';
import { parseJsonLine, writeFileAtomic } from './files.ts';
import {
  domainOf,
  planMessageId,
  planUnsubscribeMailto,
  planUnsubscribeToken,
  planUnsubscribeUrl,
} from './plan.ts';
import type { Recipient } from './recipients.ts';

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
export function planFrozenMessage(
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
    unsubscribeMailto: planUnsubscribeMailto(site.email.unsubscribeMailto),
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
      const token = planUnsubscribeToken(secret, key);
      return renderMessage(
        prepared,
        {
          email: recipient.email,
          name: recipient.name,
          unsubscribeUrl: planUnsubscribeUrl(message.unsubscribeUrl, token),
          fields: recipient.fields,
        },
        {
          messageId: planMessageId(idBase, key, message.domain),
          date,
          listId: message.listId,
          unsubscribeMailto: message.unsubscribeMailto,
        },
      );
    },
  };
}
