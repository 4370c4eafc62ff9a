// The email↔send seam: an article's compiled email, frozen with what a send adds to it (sender, List-Id,
// unsubscribe links, Message-IDs), and one reader's complete message made from it.

import { createHash, createHmac } from 'node:crypto';
import { planVerpAddress, type VerpKey } from '../bounces/verp.ts';
import { prepareMessage, renderMessage } from '../email/mime.ts';
import { type CompiledEmail, EXTRA_FIELD_PREFIX } from '../email/model.ts';
import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { z } from '../schema.ts';
import { planListName } from '../subscribe/links.ts';
import { createToken, type KeyRing } from '../subscribe/tokens.ts';

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

/** One reader of a send: the store's subscriber id (absent for a test copy) and what the templates use. */
export interface Recipient {
  readonly email: string;
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly subscriberId?: number | undefined;
}

export interface IndexedRecipient {
  /** The place in the send's frozen list. */
  readonly index: number;
  readonly recipient: Recipient;
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
  /** kurier server's public base URL (ends with "/"): unsubscribe links go there when it is set. */
  subscriptionsUrl: z.string().optional(),
  /** The list the unsubscribe tokens are bound to ("newsletter.<host>"). */
  list: z.string().optional(),
  /** The return mailbox: each copy's envelope sender is its VERP form. */
  bounceAddress: z.string().optional(),
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
    ...(site.subscriptions === undefined
      ? {}
      : {
          subscriptionsUrl: site.subscriptions.url.endsWith('/')
            ? site.subscriptions.url
            : `${site.subscriptions.url}/`,
          list: planListName(site.baseUrl),
        }),
    ...(site.email.bounceAddress === undefined ? {} : { bounceAddress: site.email.bounceAddress }),
    compiled: JSON.parse(JSON.stringify(compiled)) as CompiledEmail,
  };
}

/** Whether two frozen messages make the same copies (the edition aside). */
export function sameMessage(a: FrozenMessage, b: FrozenMessage): boolean {
  return JSON.stringify({ ...a, edition: 0 }) === JSON.stringify({ ...b, edition: 0 });
}

/**
 * The message a send froze, as the store keeps it; undefined for a send imported from a state folder that
 * predates frozen messages (it sends what the build makes now, as that version did).
 */
export function parseFrozenMessage(stored: unknown): FrozenMessage | undefined {
  if (typeof stored === 'object' && stored !== null && 'legacy' in stored) return undefined;
  const parsed = frozenSchema.safeParse(stored);
  if (!parsed.success) {
    throw new KurierError(
      'STATE_INVALID',
      'the frozen message of this send in the store is damaged; start a new send with kurier publish --new-send (everyone gets the email again).',
    );
  }
  return parsed.data;
}

/** The keys a send signs with: the unsubscribe links (old HMAC and the service's key ring) and the VERP return paths. */
export interface MessageKeys {
  /** KURIER_SECRET: the HMAC token of email.unsubscribeUrl (the fallback without kurier server). */
  readonly secret: string | undefined;
  /** The subscription tokens' key ring (KURIER_SECRET, KURIER_OLD_SECRETS); undefined without a secret. */
  readonly ring: KeyRing | undefined;
  readonly verp: readonly VerpKey[];
}

/**
 * MAIL FROM of one copy: the VERP form of the bounce address (send id and the reader's index in the send,
 * signed) when there is one and a key; otherwise the sender's address.
 */
export function envelopeFromOf(
  message: FrozenMessage,
  keys: MessageKeys,
  sendId: number | undefined,
  index: number,
): string {
  if (message.bounceAddress === undefined) return message.email.from.email;
  if (sendId === undefined || keys.verp.length === 0 || index < 0) return message.bounceAddress;
  return planVerpAddress(message.bounceAddress, 'bounce', keys.verp, sendId, index);
}

/**
 * The footer link and List-Unsubscribe URL: kurier server's unsubscribe page with the reader's token
 * (subscriber id and list, issued at the send's freeze so a resent copy is byte-identical; no address in
 * the URL) when `subscriptions.url` is set. Without the service, or for a copy without a subscriber (a
 * test copy), email.unsubscribeUrl with the HMAC of the address, for whatever the publisher runs there.
 */
function unsubscribeLinkOf(
  message: FrozenMessage,
  keys: MessageKeys,
  recipient: Recipient,
  date: Date,
): string {
  const { subscriptionsUrl, list } = message;
  if (subscriptionsUrl !== undefined && list !== undefined && recipient.subscriberId !== undefined) {
    const token =
      keys.ring === undefined
        ? FAKE_TOKEN
        : createToken(keys.ring, {
            purpose: 'unsubscribe',
            list,
            subscriberId: recipient.subscriberId,
            issuedAt: date,
          });
    return `${subscriptionsUrl}unsubscribe?token=${token}`;
  }
  return unsubscribeUrlOf(
    message.unsubscribeUrl,
    unsubscribeTokenOf(keys.secret, recipient.email.toLowerCase()),
  );
}

/** One reader's complete message; the same reader and date give the same bytes. */
export interface MessageMaker {
  readonly message: FrozenMessage;
  /** Empty values for the list columns the templates use: a test copy has no row in the list. */
  readonly emptyFields: Readonly<Record<string, string>>;
  render(recipient: Recipient, date: Date): Buffer;
}

export function prepareMessageMaker(message: FrozenMessage, keys: MessageKeys): MessageMaker {
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
      return renderMessage(
        prepared,
        {
          email: recipient.email,
          name: recipient.name,
          unsubscribeUrl: unsubscribeLinkOf(message, keys, recipient, date),
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
