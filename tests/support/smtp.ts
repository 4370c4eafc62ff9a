// A real SMTP server on 127.0.0.1 for tests: per-recipient replies, dropped connections, and what it received.

import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { type ParsedMail, parseMime } from '../../src/bounces/parse-mail.ts';

/** parseMessage: a raw RFC 5322 message as a mail client reads it (mailparser). */
export {
  type AddressObject,
  type ParsedMail,
  parseMime as parseMessage,
} from '../../src/bounces/parse-mail.ts';

export interface Reply {
  readonly code: number;
  /** Reply text; enhanced status codes are part of it ("5.1.1 User unknown"), the server adds none. */
  readonly message: string;
}

export interface ReceivedMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: Buffer;
}

export interface TestSmtpOptions {
  /** Require this login (AUTH PLAIN/LOGIN); without it, no login is offered. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Reply to RCPT TO for `address` at its `attempt`-th try (1-based); undefined accepts. */
  readonly rcpt?: (address: string, attempt: number) => Reply | undefined;
  /**
   * Called when the `count`-th message's data arrives (1-based): 'drop' destroys the socket before the
   * reply, so the client cannot know whether the message was taken (it is not kept); 'keep-and-drop'
   * keeps it and then destroys the socket (the reply is lost: a resend is a duplicate nobody can avoid).
   */
  readonly data?: (count: number) => 'drop' | 'keep-and-drop' | undefined;
  /** Milliseconds to wait before answering each message, to keep a send running for a while. */
  readonly delayMs?: number;
  /** The message size limit: larger messages get "552 5.3.4" after their data (default: 10 MB). */
  readonly size?: number;
  /** Keep the limit but do not announce SIZE in the EHLO reply (as some servers do). */
  readonly hideSize?: boolean;
  /** Close a session idle this long (smtp-server answers "421 Timeout" and hangs up). */
  readonly idleTimeoutMs?: number;
}

export interface TestSmtpServer {
  readonly port: number;
  /** `smtp://user:pass@127.0.0.1:port` (with the login when one is required). */
  readonly url: string;
  readonly received: ReceivedMessage[];
  /** RCPT TO attempts per lowercased address. */
  readonly attempts: Map<string, number>;
  /** The name each client greeted with (EHLO/HELO), in order. */
  readonly greetings: string[];
  /** Sessions opened so far, and the most open at once. */
  readonly sessions: { opened: number; open: number; mostOpen: number };
  parsed(): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

function replyError(reply: Reply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedMessage[] = [];
  const attempts = new Map<string, number>();
  const greetings: string[] = [];
  let dataCount = 0;
  const sessions = { opened: 0, open: 0, mostOpen: 0 };
  const server: SMTPServer = new SMTPServer({
    ...(options.idleTimeoutMs === undefined ? {} : { socketTimeout: options.idleTimeoutMs }),
    onConnect(_session, callback) {
      sessions.opened += 1;
      sessions.open += 1;
      sessions.mostOpen = Math.max(sessions.mostOpen, sessions.open);
      callback();
    },
    onClose() {
      sessions.open -= 1;
    },
    // Loopback only, no TLS: the built-in test certificate would fail verification anyway.
    disabledCommands: options.auth === undefined ? ['STARTTLS', 'AUTH'] : ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: options.auth === undefined,
    hideENHANCEDSTATUSCODES: true,
    disableReverseLookup: true,
    logger: false,
    size: options.size ?? 10 * 1024 * 1024,
    hideSize: options.hideSize === true,
    onMailFrom(_address, session, callback) {
      greetings.push(session.hostNameAppearsAs);
      callback();
    },
    onAuth(auth, _session, callback) {
      const expected = options.auth;
      if (expected !== undefined && auth.username === expected.user && auth.password === expected.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(replyError({ code: 535, message: '5.7.8 Authentication credentials invalid' }));
      }
    },
    onRcptTo(address, _session, callback) {
      const key = address.address.toLowerCase();
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const reply = options.rcpt?.(address.address, attempt);
      callback(reply === undefined ? undefined : replyError(reply));
    },
    onData(stream, session: SMTPServerSession, callback) {
      dataCount += 1;
      const count = dataCount;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded === true) {
          callback(replyError({ code: 552, message: '5.3.4 Message exceeds fixed maximum message size' }));
          return;
        }
        const fault = options.data?.(count);
        if (fault === 'keep-and-drop') {
          received.push({
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw: Buffer.concat(chunks),
          });
        }
        if (fault === 'drop' || fault === 'keep-and-drop') {
          for (const connection of server.connections) {
            if (connection.id === session.id) connection._socket.destroy();
          }
          return;
        }
        const keep = (): void => {
          received.push({
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw: Buffer.concat(chunks),
          });
          callback(null, 'OK queued');
        };
        if (options.delayMs === undefined) keep();
        else setTimeout(keep, options.delayMs);
      });
    },
  });
  // A client killed mid-session (the SIGKILL tests) resets its socket; smtp-server reports that as an
  // 'error' event, which would otherwise surface as an unhandled error of the test run.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  const login =
    options.auth === undefined
      ? ''
      : `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@`;
  return {
    port,
    url: `smtp://${login}127.0.0.1:${port}`,
    received,
    attempts,
    greetings,
    sessions,
    parsed: () => Promise.all(received.map((message) => parseMime(message.raw))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of server.connections) connection._socket.destroy();
        server.close(() => resolve());
      }),
  };
}
