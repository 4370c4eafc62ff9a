// The model: checked, typed data that every renderer reads. Parsers in src/content/ produce it from raw files.

export interface Person {
  readonly name: string;
  readonly email?: string | undefined;
  readonly uri?: string | undefined;
}

export interface Image {
  /** Absolute URL of the image. */
  readonly url: string;
  readonly alt: string;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  /** MIME type guessed from the file extension, for enclosures. */
  readonly type: string;
}

export interface EmailSettings {
  /** "Kurier <newsletter@kurier.example>" */
  readonly from: Person & { readonly email: string };
  readonly replyTo?: string | undefined;
  /** Full article in the email, or only the lead and a "read on" link. */
  readonly fullContent: boolean;
  /** How many of the newest articles get an email rendered on each build. */
  readonly window: number;
  /** Imprint: the sender's legal identity and postal address (required for German newsletters). */
  readonly imprint: readonly string[];
  /** Why the reader gets this email, shown in the footer. */
  readonly reason: string;
  /** Base of the unsubscribe link; the token is appended as ?token=… */
  readonly unsubscribeUrl: string;
  /** mailto: address for List-Unsubscribe. */
  readonly unsubscribeMailto: string;
  /** Gmail clips HTML larger than this many bytes. */
  readonly sizeBudget: number;
  /** The return mailbox; each message's envelope sender is its VERP form, bounces+<token>@domain. */
  readonly bounceAddress?: string | undefined;
  /** This many soft bounces of one reader within so many days make the reader bounced. */
  readonly softBounces: { readonly count: number; readonly withinDays: number };
}

/** Sign-up on the site: the public service (kurier server) and what the form shows. */
export interface SubscriptionSettings {
  /** Public base URL of kurier server; subscribe, confirm and unsubscribe live below it. */
  readonly url: string;
  /** The privacy notice the form links to. */
  readonly privacyUrl: string;
  /** The consent wording shown with the form, and recorded with each confirmation. */
  readonly consent: string;
}

export interface Site {
  readonly title: string;
  readonly subtitle?: string | undefined;
  /** Absolute, ends with "/". */
  readonly baseUrl: string;
  /** BCP 47 tag, e.g. "de". */
  readonly language: string;
  /** IANA time zone for dates written without an offset and for dates shown to readers. */
  readonly timeZone: string;
  readonly authors: readonly Person[];
  /** RFC 4151 taggingEntity: "kurier.example,2026". */
  readonly tagAuthority: string;
  readonly rights?: string | undefined;
  /** Absolute URL of a square icon (favicon, feed icon); e.g. a 512 × 512 PNG in static/. */
  readonly icon?: string | undefined;
  /** Absolute URL of a wide logo (Atom logo, RSS channel image). */
  readonly logo?: string | undefined;
  /** How many of the newest articles the feeds carry. */
  readonly feedEntries: number;
  readonly email: EmailSettings;
  /** Without it, pages carry no sign-up form. */
  readonly subscriptions?: SubscriptionSettings | undefined;
  /** Where the settings came from, for error messages. */
  readonly sourcePath: string;
}

export interface Article {
  /** RFC 4151 tag: URI, minted once, never changes. */
  readonly id: string;
  readonly slug: string;
  readonly title: string;
  /** The lead paragraph as plain text; also the feed summary. */
  readonly summary: string;
  readonly published: Date;
  readonly updated: Date;
  readonly authors: readonly Person[];
  readonly tags: readonly string[];
  readonly lang: string;
  readonly image?: Image | undefined;
  readonly draft: boolean;
  /** Absolute URL of the article page: baseUrl + path. */
  readonly url: string;
  /** Path of the page below the site root, "slug/" (the page is out/slug/index.html). */
  readonly path: string;
  /** The lead rendered as inline HTML (typography kept, links absolute). */
  readonly summaryHtml: string;
  /** The body rendered as HTML, every relative URL made absolute, headings with ids. */
  readonly html: string;
  /** Where the article came from, relative to the project root, for error messages. */
  readonly sourcePath: string;
  /** What the parser changed and the writer should hear about (a slug cut to length), for the build's output. */
  readonly warnings?: readonly string[] | undefined;
  /** Lines of the id and slug (or title) in the source, for duplicate errors. */
  readonly sourceLines?: { readonly id: number; readonly slug: number } | undefined;
}

/** What a renderer returns: a file below out/, not yet written. */
export interface OutputFile {
  /** Relative to out/, with "/" separators. */
  readonly path: string;
  readonly content: string | Uint8Array;
}
