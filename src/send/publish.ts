// `kurier publish` as a service: what can be checked before the build (the mode, the secret it needs, the DKIM
// key, the signing keys), then the picked article's message sent with the transport of that mode: one test
// copy (`--to`), or the newsletter to the store's list with the CSV imported first.

import path from 'node:path';
import type { PickedArticle } from '../build/pick.ts';
import type { RunContext } from '../context.ts';
import { KurierError } from '../error.ts';
import { openRunStore } from '../subscribe/open-store.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';
import type { DeliverySummary } from './deliver.ts';
import { readSendEnv, type SendEnv } from './env.ts';
import { frozenMessageOf, type MessageKeys } from './message.ts';
import { outboxDirectory } from './outbox.ts';
import type { UnknownPolicy } from './plan.ts';
import {
  type SendDeps,
  type SendMode,
  sendNewsletter,
  sendTestCopy,
  type TestCopyReport,
} from './service.ts';
import { openTransport, planMessageKeys } from './setup.ts';
import { checkDkimKey } from './transport.ts';

const SUBSCRIBERS_FILE = 'subscribers.csv';

/** What tests replace: retry delays, the clock of the rate limit, the jitter, the lock nonce. */
export type PublishDeps = Pick<SendDeps, 'retry' | 'clock' | 'random' | 'nonce'>;

export interface SendSetup {
  readonly sendEnv: SendEnv;
  readonly mode: SendMode;
  readonly keys: MessageKeys;
}

/** Reads and checks the send settings (environment and .env) before anything is built. */
export async function readSendSetup(context: RunContext, dryRun: boolean): Promise<SendSetup> {
  const sendEnv = await readSendEnv(context.root, context.env);
  const mode: SendMode = dryRun ? 'dry-run' : sendEnv.smtp !== undefined ? 'smtp' : 'outbox';
  if (mode === 'smtp' && sendEnv.secret === undefined) {
    throw new KurierError(
      'SECRET_MISSING',
      'KURIER_SECRET is not set, and it signs every unsubscribe link; set it (make one with: openssl rand -hex 32) in the environment or .env. Without SMTP_URL or with --dry-run, Kurier works without it.',
    );
  }
  if (sendEnv.dkim !== undefined) checkDkimKey(sendEnv.dkim);
  const keys = planMessageKeys(sendEnv.secret, parseSubscriptionEnv(context.env).secrets);
  return { sendEnv, mode, keys };
}

export interface PublishRequest {
  /** `--to`: one test copy to this address, nothing recorded. */
  readonly to: string | undefined;
  /** `--subscribers`, as given (relative to the root); the default subscribers.csv may be missing. */
  readonly subscribers: string | undefined;
  readonly strict: boolean;
  readonly unknown: UnknownPolicy;
  readonly connections: number;
  readonly rate: number | undefined;
  readonly newSend: boolean;
}

export type PublishOutcome =
  | { readonly kind: 'test-copy'; readonly copy: TestCopyReport; readonly via: string }
  | { readonly kind: 'nothing' }
  | {
      readonly kind: 'delivered';
      readonly summary: DeliverySummary;
      readonly mode: SendMode;
      /** Where the outbox mode wrote, relative to the root. */
      readonly outbox: string;
      readonly via: string;
    };

/** Sends the picked article's message as the request says; the transport is closed before it returns. */
export async function publishArticle(
  setup: SendSetup,
  picked: PickedArticle,
  request: PublishRequest,
  context: RunContext,
  deps: PublishDeps,
): Promise<PublishOutcome> {
  const { root, paths } = context;
  const { mode, keys } = setup;
  const message = frozenMessageOf(picked.build.site, picked.article, picked.email);
  const outbox = outboxDirectory(paths.stateDir, picked.article.slug);
  const transport = openTransport({
    mode,
    sendEnv: setup.sendEnv,
    from: message.email.from.email,
    connections: request.connections,
    outbox,
  });
  const sendDeps: SendDeps = { ...deps, transport, io: context.io, now: context.now, signal: context.signal };
  try {
    if (request.to !== undefined) {
      const copy = await sendTestCopy(request.to, message, keys, sendDeps);
      return { kind: 'test-copy', copy, via: transport.description };
    }
    const subscribersFile = path.resolve(root, request.subscribers ?? SUBSCRIBERS_FILE);
    const displayName = path.relative(root, subscribersFile) || subscribersFile;
    // An explicit --subscribers must exist (the import says so); the default file is optional once the
    // store has readers (sign-ups through kurier server, kurier subscribers import).
    const list = { file: subscribersFile, displayName };
    const store = await openRunStore(context);
    let report: Awaited<ReturnType<typeof sendNewsletter>>;
    try {
      report = await sendNewsletter(
        {
          store,
          list: request.subscribers === undefined ? list : { ...list, required: true },
          mode,
          strict: request.strict,
          unknown: request.unknown,
          connections: request.connections,
          rate: request.rate,
          newSend: request.newSend,
          message,
          keys,
        },
        sendDeps,
      );
    } finally {
      await store.close();
    }
    if (report.kind === 'nothing') return { kind: 'nothing' };
    return {
      kind: 'delivered',
      summary: report.summary,
      mode,
      outbox: path.relative(root, outbox),
      via: transport.description,
    };
  } finally {
    await transport.close();
  }
}
