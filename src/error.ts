// The one error type of Kurier: a stable code, the file and line it concerns, and what to do about it.

export type ErrorCode =
  | 'SETTINGS_INVALID'
  | 'FRONT_MATTER_MISSING'
  | 'YAML_INVALID'
  | 'FRONT_MATTER_INVALID'
  | 'DUPLICATE_SLUG'
  | 'DUPLICATE_ID'
  | 'CONTENT_EMPTY'
  | 'TEMPLATE_INVALID'
  | 'EMAIL_INVALID'
  | 'ARTICLE_NOT_FOUND'
  | 'SUBSCRIBERS_INVALID'
  | 'SUBSCRIBER_INVALID'
  | 'ENV_INVALID'
  | 'SECRET_MISSING'
  | 'SMTP_AUTH'
  | 'SMTP_CONNECTION'
  | 'SMTP_SENDER_BLOCKED'
  | 'SEND_LOCKED'
  | 'OUT_DIR_UNSAFE'
  | 'CONTENT_INVALID'
  | 'STATE_INVALID'
  | 'STATE_UNWRITABLE'
  | 'SUPPRESSION_INVALID'
  | 'SMTP_MESSAGE_REFUSED'
  | 'WRITE_FAILED'
  | 'PATH_TOO_LONG'
  | 'PORT_IN_USE'
  | 'IMAP_FAILED'
  | 'STORE_INVALID'
  | 'STORE_UNAVAILABLE'
  | 'USAGE';

export interface ErrorPlace {
  readonly file?: string;
  readonly line?: number;
  readonly cause?: unknown;
  /** Further errors of the same run, so that one build reports every broken file at once. */
  readonly problems?: readonly KurierError[];
}

export class KurierError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly problems: readonly KurierError[];

  constructor(code: ErrorCode, message: string, place: ErrorPlace = {}) {
    super(message, place.cause === undefined ? undefined : { cause: place.cause });
    this.name = 'KurierError';
    this.code = code;
    this.file = place.file;
    this.line = place.line;
    this.problems = place.problems ?? [];
  }
}

/** `content/posts/bochum.md:3  FRONT_MATTER_INVALID  date: expected …`: one line, no stack. */
export function formatError(error: KurierError): string {
  const where =
    error.file === undefined ? '' : error.line === undefined ? error.file : `${error.file}:${error.line}`;
  const line = [where, error.code, error.message].filter((part) => part !== '').join('  ');
  return [line, ...error.problems.map(formatError)].join('\n');
}
