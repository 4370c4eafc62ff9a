// The network edge of a send: a pool of SMTP connections (nodemailer) that takes finished messages and reports outcomes.

import { createPrivateKey } from 'node:crypto';
import nodemailer from 'nodemailer';
import { KurierError } from '../error.ts';

export interface Envelope {
  /** MAIL FROM: where bounces go. */
  readonly from: string;
  /** RCPT TO: exactly one reader per message, so one reply is one reader's outcome. */
  readonly to: string;
}

export interface OutgoingMessage {
  /** Index of the recipient in the frozen list (the outbox names its files by it). */
  readonly index: number;
  readonly envelope: Envelope;
  /** The complete RFC 5322 message, CRLF line ends. */
  readonly raw: Buffer;
}

/** Errors that concern the whole sender: the run stops, and can be resumed once the cause is gone. */
export type HaltReason = 'auth' | 'unavailable' | 'throttled' | 'quota' | 'sender' | 'connection';

export type SendOutcome =
  | { readonly kind: 'sent'; readonly response: string }
  | {
      readonly kind: 'rejected';
      readonly code: number | undefined;
      readonly response: string;
      /** The mailbox does not exist (5.1.x, 5.2.1): the address joins the suppression list. */
      readonly hardBounce: boolean;
    }
  | {
      readonly kind: 'deferred';
      readonly code: number | undefined;
      readonly response: string;
      /** The connection failed rather than the server answering for this reader. */
      readonly connection: boolean;
    }
  | {
      readonly kind: 'halt';
      readonly code: number | undefined;
      readonly response: string;
      readonly reason: HaltReason;
    };

export interface Transport {
  /** For messages: "smtp://mail.example:587 as user", "outbox .kurier/outbox/…". */
  readonly description: string;
  /** Checks the login (or that the outbox is writable) before the first message leaves. */
  verify(): Promise<void>;
  /** Never throws for a failed delivery: every failure is an outcome. */
  send(message: OutgoingMessage): Promise<SendOutcome>;
  close(): Promise<void>;
}

export interface SmtpFailure {
  readonly code?: string | undefined;
  readonly responseCode?: number | undefined;
  readonly response?: string | undefined;
  readonly command?: string | undefined;
  readonly message: string;
}

// RFC 3463 enhanced status codes that say the mailbox itself is gone: bad mailbox (5.1.1), bad domain
// (5.1.2), bad address syntax (5.1.3), mailbox moved (5.1.6), null MX (5.1.10, RFC 7505), disabled (5.2.1).
const HARD_BOUNCE = new Set(['5.1.1', '5.1.2', '5.1.3', '5.1.6', '5.1.10', '5.2.1']);
const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROTOCOL',
  'EPROXY',
]);
// Gmail "550 5.4.5 Daily user sending limit exceeded", Amazon SES "454 Throttling failure: Daily message
// quota exceeded": more mail today only makes the block longer.
const QUOTA_TEXT = /daily (?:user )?(?:sending |message )?(?:quota|limit)|sending quota/i;

export function parseEnhancedStatus(response: string): string | undefined {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1];
}

/** Pure: what a failed send means for the run. */
export function classifySmtpFailure(failure: SmtpFailure): SendOutcome {
  const response = (failure.response ?? failure.message).trim();
  const code = failure.responseCode;
  const enhanced = parseEnhancedStatus(response);
  if (
    failure.code === 'EAUTH' ||
    failure.code === 'ENOAUTH' ||
    code === 530 ||
    code === 534 ||
    code === 535
  ) {
    return { kind: 'halt', code, response, reason: 'auth' };
  }
  if (enhanced === '5.4.5' || enhanced === '4.4.5' || QUOTA_TEXT.test(response)) {
    return { kind: 'halt', code, response, reason: 'quota' };
  }
  // 421: the server is closing the channel for everyone (RFC 5321 §4.2.2); 454 is what providers answer
  // when the sender is over its rate (Amazon SES "Throttling failure").
  if (code === 421) return { kind: 'halt', code, response, reason: 'unavailable' };
  if (code === 454) return { kind: 'halt', code, response, reason: 'throttled' };
  if (failure.command === 'MAIL FROM' && code !== undefined && code >= 500) {
    return { kind: 'halt', code, response, reason: 'sender' };
  }
  if (code !== undefined && code >= 500 && code !== 503) {
    return {
      kind: 'rejected',
      code,
      response,
      hardBounce: enhanced !== undefined && HARD_BOUNCE.has(enhanced),
    };
  }
  if (code !== undefined && code >= 400 && code !== 503) {
    return { kind: 'deferred', code, response, connection: false };
  }
  // 503 (bad sequence) says the session was confused, not that the message was refused: a new connection
  // will do. Errors without a reply are the connection's.
  if (code === 503 || failure.code === undefined || CONNECTION_CODES.has(failure.code)) {
    return { kind: 'deferred', code, response, connection: true };
  }
  if (failure.code === 'EENVELOPE') return { kind: 'rejected', code, response, hardBounce: false };
  return { kind: 'deferred', code, response, connection: true };
}

export interface SmtpSettings {
  readonly url: URL;
  readonly connections: number;
  readonly dkim?: DkimSettings | undefined;
}

export interface DkimSettings {
  readonly domainName: string;
  readonly keySelector: string;
  /** PEM. */
  readonly privateKey: string;
}

/** Checks a DKIM key before anything is sent, so a typo in it does not surface as the first send's failure. */
export function checkDkimKey(settings: DkimSettings): void {
  try {
    createPrivateKey(settings.privateKey);
  } catch (error) {
    throw new KurierError(
      'ENV_INVALID',
      `DKIM_PRIVATE_KEY is not a PEM private key (${(error as Error).message}); paste the whole key including the BEGIN/END lines, or point DKIM_PRIVATE_KEY_FILE at it.`,
      { cause: error },
    );
  }
}

function describeUrl(url: URL): string {
  const user = url.username === '' ? '' : ` as ${decodeURIComponent(url.username)}`;
  return `${url.protocol}//${url.host}${user}`;
}

function smtpOptions(settings: SmtpSettings) {
  const { url } = settings;
  const secure = url.protocol === 'smtps:';
  return {
    pool: true as const,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    auth:
      url.username === ''
        ? undefined
        : { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) },
    maxConnections: settings.connections,
    // Servers commonly cap messages per session; reconnecting every few hundred stays under the usual caps
    // at a negligible cost.
    maxMessages: 500,
    // The pool requeues only a message of which not a byte went out (a reused connection the server had
    // closed, smtp-pool/pool-resource.js): safe, and it keeps a 421 on a fresh connection from being
    // mistaken for a dropped one. Everything else comes back to Kurier, which retries with backoff.
    maxRequeues: 3,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(settings.dkim === undefined ? {} : { dkim: { ...settings.dkim } }),
  };
}

/**
 * The SMTP transport. Messages are handed over ready-made as `raw`: nodemailer sends them byte for byte
 * (MailComposer wraps raw input as-is) and still DKIM-signs them, because the signer runs as a stream
 * step over whatever the message node emits (mailer/index.js processFunc → dkim.sign).
 */
export function createSmtpTransport(settings: SmtpSettings): Transport {
  const transporter = nodemailer.createTransport(smtpOptions(settings));
  const description = describeUrl(settings.url);
  return {
    description,
    async verify() {
      try {
        await transporter.verify();
      } catch (error) {
        const failure = error as SmtpFailure;
        const outcome = classifySmtpFailure(failure);
        if (outcome.kind === 'halt' && outcome.reason === 'auth') {
          throw new KurierError(
            'SMTP_AUTH',
            `the SMTP server at ${description} refused the login (${outcome.response}); check user and password in SMTP_URL.`,
            { cause: error },
          );
        }
        throw new KurierError(
          'SMTP_CONNECTION',
          `cannot reach the SMTP server at ${description} (${failure.message}); check host, port and smtp:// vs smtps:// in SMTP_URL.`,
          { cause: error },
        );
      }
    },
    async send(message) {
      try {
        const info = await transporter.sendMail({
          envelope: { from: message.envelope.from, to: [message.envelope.to] },
          raw: message.raw,
        });
        return { kind: 'sent', response: String(info.response ?? '250') };
      } catch (error) {
        return classifySmtpFailure(error as SmtpFailure);
      }
    },
    async close() {
      transporter.close();
    },
  };
}
