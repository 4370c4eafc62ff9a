// The outbox: without SMTP_URL every message is written as an .eml file into the private state, for a look before sending.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { stateWriteError, writeFileAtomic } from './files.ts';
import type { OutgoingMessage, SendOutcome, Transport } from './transport.ts';

export function outboxDirectory(stateDir: string, slug: string): string {
  return path.join(stateDir, 'outbox', slug);
}

/** A transport that writes `<index>.eml` (the recipient's place in the list; a test copy is test-copy.eml). */
export function createOutboxTransport(dir: string): Transport {
  return {
    description: `outbox ${dir}`,
    async verify() {
      await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
        throw stateWriteError(error, dir);
      });
      return { maxMessageBytes: undefined };
    },
    async send(message: OutgoingMessage): Promise<SendOutcome> {
      const name = message.index < 0 ? 'test-copy.eml' : `${String(message.index).padStart(7, '0')}.eml`;
      await writeFileAtomic(path.join(dir, name), message.raw);
      return { kind: 'sent', response: `written to ${name}` };
    },
    async close() {},
  };
}

/** Renders every message and sends none (`--dry-run`): proves each reader's copy can be built. */
export function createDryRunTransport(): Transport {
  return {
    description: 'dry run',
    async verify() {
      return { maxMessageBytes: undefined };
    },
    async send(): Promise<SendOutcome> {
      return { kind: 'sent', response: 'dry run' };
    },
    async close() {},
  };
}
