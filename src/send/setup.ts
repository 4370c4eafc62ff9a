// What one publish run sends with: the transport of its mode, and the keys that sign its links and return paths.

import { hostname } from 'node:os';
import { planVerpKeys } from '../bounces/keys.ts';
import { planKeyRing } from '../subscribe/tokens.ts';
import type { SendEnv } from './env.ts';
import type { MessageKeys } from './message.ts';
import { createDryRunTransport, createOutboxTransport } from './outbox.ts';
import type { SendMode } from './service.ts';
import { createSmtpTransport, heloName, type Transport } from './transport.ts';

/** The old HMAC secret, and with KURIER_SECRET (+ KURIER_OLD_SECRETS) the service's key ring and VERP keys. */
export function planMessageKeys(secret: string | undefined, secrets: readonly string[]): MessageKeys {
  return secrets.length === 0
    ? { secret, ring: undefined, verp: [] }
    : { secret, ring: planKeyRing(secrets), verp: planVerpKeys(secrets) };
}

export interface TransportChoice {
  readonly mode: SendMode;
  readonly sendEnv: SendEnv;
  /** The sender's address: its domain greets the server when this host's name has none. */
  readonly from: string;
  readonly connections: number;
  /** Where the outbox mode writes its .eml files. */
  readonly outbox: string;
}

export function openTransport(choice: TransportChoice): Transport {
  const { mode, sendEnv } = choice;
  if (mode === 'dry-run') return createDryRunTransport();
  if (sendEnv.smtp === undefined) return createOutboxTransport(choice.outbox);
  return createSmtpTransport({
    server: sendEnv.smtp,
    name: heloName(hostname(), choice.from),
    connections: choice.connections,
    dkim: sendEnv.dkim,
  });
}
