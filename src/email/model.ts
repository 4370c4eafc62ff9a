// The email's data between its stages. A newsletter goes through five shapes, each made once and reused:
//
//   CompiledEmail     one article, after Handlebars and MJML: static text and reader fields (email/compile.ts;
//                     the build caches it, a send freezes it)
//   PreparedEmail     its two per-reader templates, compiled once per send (email/render.ts)
//   PreparedMessage   the MIME message with everything readers share already encoded (email/mime.ts)
//   rendered message  one reader's complete RFC 5322 bytes (renderMessage in email/mime.ts)
//   OutgoingMessage   those bytes with the envelope and the reader's place in the frozen list (send/transport.ts)
//
// A Reader is what the last three need to know of a subscriber.

import type { Segment } from '../render/handlebars.ts';

export interface CompiledEmail {
  readonly articleId: string;
  /** The article's source file, for messages. */
  readonly sourcePath: string;
  readonly subject: string;
  /** BCP 47 tag of the article, for Content-Language. */
  readonly lang: string;
  /** The HTML after MJML, as static text and reader fields. */
  readonly html: readonly Segment[];
  readonly text: readonly Segment[];
  /** Every reader field the templates use, e.g. ["greeting", "unsubscribeUrl", "fields.city"]. */
  readonly readerFields: readonly string[];
  readonly greeting: { readonly named: readonly [string, string]; readonly anonymous: string };
  /** The generic unsubscribe page, for the web version. */
  readonly webUnsubscribeUrl: string;
  /** Bytes of the web version's HTML (UTF-8). */
  readonly htmlBytes: number;
  readonly warnings: readonly string[];
}

/** One recipient as the send step knows it, already validated. */
export interface Reader {
  readonly email: string;
  readonly name: string;
  /** This reader's own unsubscribe link (with token). */
  readonly unsubscribeUrl: string;
  /** Extra columns of the subscriber list, for `{{reader "fields.<column>"}}`. */
  readonly fields: Readonly<Record<string, string>>;
}

/** The fields a template may ask for; extra list columns as "fields.<column>". */
export const READER_FIELDS = ['name', 'email', 'greeting', 'unsubscribeUrl'] as const;
export const EXTRA_FIELD_PREFIX = 'fields.';
