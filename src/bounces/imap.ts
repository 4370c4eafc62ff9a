// The return mailbox over IMAP (imapflow, imported here only): BOUNCE_IMAP_URL checked once, messages read
// without marking them seen, and moved (never deleted) into Kurier's folders once the ledger has them.

import { ImapFlow } from 'imapflow';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import type { Folder } from './ledger.ts';
import type { BounceMailbox, MailboxMessage } from './service.ts';

export interface ImapTarget {
  readonly host: string;
  readonly port: number;
  /** imaps:// (TLS from the start); imap:// only to a loopback address, where no one can listen in. */
  readonly secure: boolean;
  readonly user: string;
  readonly pass: string;
  readonly mailbox: string;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

const imapUrlSchema = z
  .string()
  .transform((text, context) => {
    try {
      return new URL(text);
    } catch {
      context.addIssue({ code: 'custom', message: 'is not a URL' });
      return z.NEVER;
    }
  })
  .refine((url) => url.protocol === 'imaps:' || (url.protocol === 'imap:' && LOOPBACK.has(url.hostname)), {
    message:
      'must start with imaps:// (imap:// is allowed for 127.0.0.1 only: it would send the password in clear)',
  })
  .refine((url) => url.username !== '' && url.password !== '', {
    message: 'must name the user and password',
  });

/** `imaps://user:pass@host/INBOX` → where to log in and which mailbox to read (INBOX when none is named). */
export function parseBounceImapUrl(text: string): ImapTarget {
  const parsed = imapUrlSchema.safeParse(text.trim());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]?.message ?? 'is invalid';
    throw new KurierError(
      'ENV_INVALID',
      `BOUNCE_IMAP_URL ${issue}, e.g. imaps://user:pass@mail.example.org/INBOX.`,
    );
  }
  const url = parsed.data;
  const secure = url.protocol === 'imaps:';
  const mailbox = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 993 : 143) : Number(url.port),
    secure,
    user: decodeURIComponent(url.username),
    pass: decodeURIComponent(url.password),
    mailbox: mailbox === '' ? 'INBOX' : mailbox,
  };
}

/** Folder paths as segments: imapflow joins them with the server's delimiter (`/` or `.`). */
export const DEFAULT_FOLDERS: Readonly<Record<Folder, readonly string[]>> = {
  handled: ['Kurier', 'Handled'],
  unclassified: ['Kurier', 'Unclassified'],
};

export interface ImapMailbox extends BounceMailbox {
  close(): Promise<void>;
}

function imapError(target: ImapTarget, error: unknown): KurierError {
  // imapflow says only "Command failed"; the server's NO or BAD text tells what went wrong.
  const { responseStatus, responseText, executedCommand } = error as {
    responseStatus?: string;
    responseText?: string;
    executedCommand?: string;
  };
  const answer =
    responseText === undefined
      ? ''
      : ` (${executedCommand?.split(' ')[1] ?? 'command'}: ${responseStatus} ${responseText})`;
  const detail = `${error instanceof Error ? error.message : String(error)}${answer}`;
  const failed = (error as { authenticationFailed?: boolean }).authenticationFailed === true;
  return new KurierError(
    'IMAP_FAILED',
    failed
      ? `IMAP login as ${target.user} at ${target.host} refused: check the user and password in BOUNCE_IMAP_URL.`
      : `IMAP at ${target.host}:${target.port}: ${detail}. Check BOUNCE_IMAP_URL and that the server is reachable.`,
    { cause: error },
  );
}

/**
 * Dovecot may answer a CREATE with NO ("Mailbox doesn't exist" for the parent) while another session touches
 * the same hierarchy: a run killed a moment ago whose server process is still at work, or a mail client. It
 * failed a CI run once; the folder then exists, or a second try succeeds. Checking first also spares the
 * CREATE on every run after the first.
 */
async function ensureFolder(client: ImapFlow, folder: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const exists = await client.status([...folder], { messages: true }).catch(() => false);
    if (exists !== false) return;
    try {
      await client.mailboxCreate([...folder]);
      return;
    } catch (error) {
      if (attempt === 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, attempt * 250));
    }
  }
}

export async function openImapMailbox(
  target: ImapTarget,
  folders: Readonly<Record<Folder, readonly string[]>> = DEFAULT_FOLDERS,
): Promise<ImapMailbox> {
  const client = new ImapFlow({
    host: target.host,
    port: target.port,
    secure: target.secure,
    auth: { user: target.user, pass: target.pass },
    logger: false,
  });
  // imapflow emits socket errors as events; without a listener one would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
    for (const folder of Object.values(folders)) await ensureFolder(client, folder);
    await client.mailboxOpen(target.mailbox);
  } catch (error) {
    client.close();
    throw imapError(target, error);
  }
  return {
    async *batches(size) {
      const uids = (await client.search({ all: true }, { uid: true })) || [];
      for (let start = 0; start < uids.length; start += size) {
        const range = uids.slice(start, start + size);
        // BODY.PEEK: reading a message does not mark it seen for a person who looks at the mailbox.
        const fetched = await client.fetchAll(range, { uid: true, source: true }, { uid: true });
        const batch: MailboxMessage[] = fetched
          .filter((message) => message.source !== undefined)
          .map((message) => ({ uid: message.uid, raw: message.source as Buffer }));
        yield batch.sort((a, b) => a.uid - b.uid);
      }
    },
    async move(uids, folder) {
      const moved = await client.messageMove([...uids], [...folders[folder]], { uid: true });
      if (moved === false)
        throw imapError(target, new Error(`could not move messages to ${folders[folder].join('/')}`));
    },
    async close() {
      await client.logout().catch(() => client.close());
    },
  };
}
