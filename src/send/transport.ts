// The network edge of a send: a pool of SMTP connections (nodemailer) that takes finished messages and reports outcomes.

import { createPrivateKey } from 'node:crypto';
import { format } from 'node:util';
import nodemailer from 'nodemailer';
import DKIM from 'nodemailer/lib/dkim';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { type ErrorCode, KurierError } from '../error.ts';

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

/**
 * Errors that concern the whole sender or the message itself rather than one reader: the run stops and
 * the readers stay pending, so it can be resumed once the cause is gone.
 */
export type HaltReason =
  | 'auth'
  | 'unavailable'
  | 'throttled'
  | 'quota'
  | 'sender'
  | 'connection'
  | 'size'
  | 'content'
  | 'repeated';

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

/** What the server told about itself when Kurier checked the login. */
export interface TransportInfo {
  /** The SIZE it announced in its EHLO reply (RFC 1870); undefined when it announced none. */
  readonly maxMessageBytes: number | undefined;
}

export interface Transport {
  /** For messages: "smtp://mail.example:587 as user", "outbox .kurier/outbox/…". */
  readonly description: string;
  /** Checks the login (or that the outbox is writable) before the first message leaves. */
  verify(): Promise<TransportInfo>;
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
  // The message is too big for this server (RFC 3463 5.3.4, RFC 1870 §6: 552 after DATA): it is too big
  // for every reader, so nobody is marked as failed.
  if (
    enhanced === '5.3.4' ||
    enhanced === '4.3.4' ||
    (code === 552 && failure.command === 'DATA') ||
    (failure.code === 'EMESSAGE' && failure.command === 'MAIL FROM' && code === undefined)
  ) {
    return { kind: 'halt', code, response, reason: 'size' };
  }
  if (failure.command === 'MAIL FROM' && code !== undefined && code >= 500) {
    return { kind: 'halt', code, response, reason: 'sender' };
  }
  // Refused for what the message contains (5.6.x media errors; 5.7.x after DATA: content or policy
  // filters): the same text would be refused for the next reader too.
  if (
    code !== undefined &&
    code >= 500 &&
    (enhanced?.startsWith('5.6.') === true ||
      (failure.command === 'DATA' && enhanced?.startsWith('5.7.') === true))
  ) {
    return { kind: 'halt', code, response, reason: 'content' };
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

/** The SMTP server of SMTP_URL, user and password decoded once where the environment is read. */
export interface SmtpServer {
  readonly host: string;
  readonly port: number;
  /** smtps:// (TLS from the start, port 465) rather than smtp:// (STARTTLS, port 587). */
  readonly secure: boolean;
  readonly user: string | undefined;
  readonly pass: string | undefined;
  /** For messages, without the password: "smtp://mail.example:587 as user". */
  readonly description: string;
}

const HALT_CODES: Readonly<Record<HaltReason, ErrorCode>> = {
  auth: 'SMTP_AUTH',
  unavailable: 'SMTP_CONNECTION',
  connection: 'SMTP_CONNECTION',
  throttled: 'SMTP_SENDER_BLOCKED',
  quota: 'SMTP_SENDER_BLOCKED',
  sender: 'SMTP_SENDER_BLOCKED',
  size: 'SMTP_MESSAGE_REFUSED',
  content: 'SMTP_MESSAGE_REFUSED',
  repeated: 'SMTP_MESSAGE_REFUSED',
};

const HALT_ADVICE: Readonly<Record<HaltReason, string>> = {
  auth: 'check user and password in SMTP_URL',
  unavailable: 'the server closed the session for everyone; wait a little',
  connection:
    'the server stopped answering; check that it is up, and host, port and smtp:// vs smtps:// in SMTP_URL',
  throttled: 'the server throttles this sender; lower --rate or --connections and wait',
  quota: 'the sending quota is used up; wait until it resets (usually the next day)',
  sender: 'the server refuses the sender address; check email.from in content/site.yaml with your provider',
  size: 'the message is larger than the server takes; make it smaller (fewer or smaller images in the email) or ask your provider for a higher limit',
  content: "the server refuses the message's content; see its reply, change the article or ask your provider",
  repeated:
    'the server refused several readers in a row with the same reply, so it concerns the message or the sender rather than the readers; see the reply and ask your provider',
};

/** The catalogue of stops: what each halt means for the user, with what to do; nobody was marked as failed. */
export function haltError(reason: HaltReason, response: string, description: string): KurierError {
  return new KurierError(
    HALT_CODES[reason],
    `${description} answered "${shorten(response, 300)}": ${HALT_ADVICE[reason]}; then run kurier publish again to continue where it stopped (the readers not reached are still pending).`,
  );
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** Room for the DKIM-Signature header nodemailer adds after Kurier measured the message. */
export const DKIM_ALLOWANCE = 1024;

/** The SIZE of an EHLO reply (RFC 1870 §4); 0 or none means no announced limit. */
export function parseAnnouncedSize(ehloReply: string): number | undefined {
  const size = Number(/^250[ -]SIZE[ \t]+(\d+)/im.exec(ehloReply)?.[1] ?? 0);
  return size > 0 ? size : undefined;
}

export interface SmtpSettings {
  readonly server: SmtpServer;
  /** The name in EHLO: this machine's name when it is a domain, else the sending domain (see heloName). */
  readonly name: string;
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

/**
 * The name Kurier greets the server with. nodemailer falls back to "[127.0.0.1]" when the host name has
 * no dot, and spam filters score an address literal in EHLO; RFC 5321 §4.1.1.1 asks for the client's
 * fully qualified domain name, so the domain of the sender stands in.
 */
export function heloName(hostName: string, senderAddress: string): string {
  const host = hostName.trim().toLowerCase();
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host) && !host.endsWith('.local')) return host;
  return senderAddress.slice(senderAddress.lastIndexOf('@') + 1).toLowerCase();
}

function smtpOptions(settings: SmtpSettings) {
  const { server } = settings;
  return {
    host: server.host,
    port: server.port,
    secure: server.secure,
    name: settings.name,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  };
}

// Servers commonly cap messages per session; reconnecting every few hundred stays under the usual caps at a
// negligible cost.
const MESSAGES_PER_CONNECTION = 500;
// A message of which not a byte went out over a reused connection the server had closed goes again over a
// fresh one (as nodemailer's pool does, smtp-pool/pool-resource.js): safe, and it keeps a 421 on a fresh
// connection from being mistaken for a dropped one. Everything else comes back to Kurier, which retries
// with backoff.
const REQUEUES = 3;

interface Session {
  readonly connection: SMTPConnection;
  messages: number;
}

/** A failure of the connection rather than a reply about the message (nodemailer's errors.isTransientError). */
function isTransient(failure: SmtpFailure): boolean {
  return (
    failure.responseCode === 421 ||
    failure.code === 'ECONNECTION' ||
    failure.code === 'ESOCKET' ||
    failure.code === 'ETIMEDOUT'
  );
}

/**
 * The SMTP transport: a pool of nodemailer's SMTP connections, each sending one finished message at a time.
 * Messages go over the wire byte for byte as Kurier rendered them, with the envelope given explicitly:
 * nodemailer's Mail pipeline would build a MIME tree, a Message-ID and streams per message only to pass
 * the raw bytes through (measured: a sixth of the sender's CPU per message). DKIM signs with nodemailer's
 * own signer, the step the Mail pipeline runs.
 */
export function createSmtpTransport(settings: SmtpSettings): Transport {
  const { description } = settings.server;
  const options = smtpOptions(settings);
  const { user, pass } = settings.server;
  const dkim = settings.dkim === undefined ? undefined : new DKIM({ ...settings.dkim });
  const idle: Session[] = [];
  const open = new Set<Session>();
  const waiting: (() => void)[] = [];
  let busy = 0;
  let maxMessageBytes: number | undefined;

  const acquire = async (): Promise<void> => {
    if (busy < settings.connections) {
      busy += 1;
      return;
    }
    // The slot is handed over by release(), busy stays as it was.
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) busy -= 1;
    else next();
  };
  const drop = (session: Session): void => {
    open.delete(session);
    session.connection.close();
  };

  const connect = (): Promise<Session> =>
    new Promise((resolve, reject) => {
      const connection = new SMTPConnection(options);
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        connection.close();
        reject(error);
      };
      // After the handshake a failure reaches the send in flight through its callback; an idle connection
      // the server closed is seen as destroyed when it is next taken.
      connection.on('error', fail);
      connection.once('end', () =>
        fail(Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' })),
      );
      const ready = (): void => {
        if (settled) return;
        settled = true;
        const session = { connection, messages: 0 };
        open.add(session);
        resolve(session);
      };
      connection.connect((error) => {
        if (error !== undefined && error !== null) return fail(error);
        // As nodemailer's pool: a server that offers no AUTH (a local relay) is not asked to log in.
        if (user === undefined || !connection.allowsAuth) return ready();
        connection.login({ credentials: { user, pass: pass ?? '' } }, (failure) =>
          failure === null ? ready() : fail(failure),
        );
      });
    });

  /** One message over one session; `started` says whether any of its bytes went out. */
  const transmit = (
    session: Session,
    message: OutgoingMessage,
  ): Promise<{ error: SmtpFailure | undefined; response: string; started: boolean }> =>
    new Promise((resolve) => {
      const { connection } = session;
      // A buffer, not a stream: SMTPConnection writes it whole once DATA is answered (measured: a
      // stream per message cost 4 % of the sender's CPU).
      const body = dkim === undefined ? message.raw : dkim.sign(message.raw);
      connection.send({ from: message.envelope.from, to: [message.envelope.to] }, body, (error, info) => {
        resolve({
          error: error ?? undefined,
          response: String(info?.response ?? '250'),
          // The message goes out right after the 354 to DATA (RFC 5321 §4.1.1.4), the only 3xx of a mail
          // transaction: a session that failed with another reply last had not sent a byte of it.
          started: /^3/.test(String(connection.lastServerResponse)),
        });
      });
    });

  const reset = (session: Session): Promise<boolean> =>
    new Promise((resolve) => session.connection.reset((error) => resolve(error === null)));

  return {
    description,
    async verify() {
      // nodemailer keeps the SIZE of the EHLO reply to itself; its protocol log (a public option) shows it.
      const log: string[] = [];
      const record = (_data: unknown, message: unknown, ...args: unknown[]) => {
        log.push(format(String(message), ...args));
      };
      const ignore = () => {};
      const checker = nodemailer.createTransport({
        ...options,
        auth: user === undefined ? undefined : { user, pass: pass ?? '' },
        debug: true,
        logger: {
          level: ignore,
          trace: ignore,
          debug: record,
          info: ignore,
          warn: ignore,
          error: ignore,
          fatal: ignore,
        },
      });
      try {
        await checker.verify();
      } catch (error) {
        const failure = error as SmtpFailure;
        const outcome = classifySmtpFailure(failure);
        if (outcome.kind === 'halt' && outcome.reason === 'auth') {
          throw new KurierError(
            'SMTP_AUTH',
            `the SMTP server at ${description} refused the login (${outcome.response}); ${HALT_ADVICE.auth}.`,
            { cause: error },
          );
        }
        throw new KurierError(
          'SMTP_CONNECTION',
          `cannot reach the SMTP server at ${description} (${failure.message}); ${HALT_ADVICE.connection}.`,
          { cause: error },
        );
      } finally {
        checker.close();
      }
      maxMessageBytes = parseAnnouncedSize(log.join('\n'));
      return { maxMessageBytes };
    },
    async send(message) {
      // A message over the announced limit would be refused for every reader: stop before sending it.
      if (maxMessageBytes !== undefined && message.raw.length + DKIM_ALLOWANCE > maxMessageBytes) {
        return {
          kind: 'halt',
          code: undefined,
          response: `SIZE ${maxMessageBytes}: the message has ${message.raw.length} bytes`,
          reason: 'size',
        };
      }
      await acquire();
      try {
        for (let requeues = 0; ; requeues += 1) {
          let session = idle.pop();
          while (session?.connection.destroyed === true) {
            open.delete(session);
            session = idle.pop();
          }
          const reused = session !== undefined;
          if (session === undefined) {
            try {
              session = await connect();
            } catch (error) {
              return classifySmtpFailure(error as SmtpFailure);
            }
          }
          const { error, response, started } = await transmit(session, message);
          session.messages += 1;
          if (error === undefined) {
            if (session.messages >= MESSAGES_PER_CONNECTION) drop(session);
            else idle.push(session);
            return { kind: 'sent', response };
          }
          if (reused && !started && isTransient(error) && requeues < REQUEUES) {
            drop(session);
            continue;
          }
          // The server refused this message; the session itself is fine once reset.
          if (
            (error.code === 'EENVELOPE' || error.code === 'EMESSAGE') &&
            error.responseCode !== 421 &&
            !session.connection.destroyed &&
            session.messages < MESSAGES_PER_CONNECTION &&
            (await reset(session))
          ) {
            idle.push(session);
          } else drop(session);
          return classifySmtpFailure(error);
        }
      } finally {
        release();
      }
    },
    async close() {
      for (const session of open) session.connection.close();
      open.clear();
      idle.length = 0;
    },
  };
}
