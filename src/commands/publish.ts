// `kurier publish [slug]`: build, then send the article's newsletter to every subscriber who has not had it yet.

import path from 'node:path';
import { buildAndPickArticle } from '../build/pick.ts';
import type { RunContext } from '../context.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { readSendEnv } from '../send/env.ts';
import { frozenMessageOf } from '../send/message.ts';
import { outboxDirectory } from '../send/outbox.ts';
import { printSendReport } from '../send/report.ts';
import {
  defaultSendDeps,
  type SendDeps,
  type SendMode,
  sendNewsletter,
  sendTestCopy,
} from '../send/service.ts';
import { openTransport, planMessageKeys } from '../send/setup.ts';
import { checkDkimKey } from '../send/transport.ts';
import { openRunStore } from '../subscribe/open-store.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';
import {
  defineCommand,
  flagOption,
  type OptionsOf,
  type OptionTable,
  outOption,
  pathOption,
  stateOption,
} from './command.ts';

export const SUBSCRIBERS_FILE = 'subscribers.csv';

const options = {
  subscribers: pathOption(
    'FILE',
    'the subscriber list (default: subscribers.csv); Kurier, listmonk or Mailchimp CSV',
  ),
  strict: flagOption('stop when the list has an invalid row (default: report and skip it)'),
  'dry-run': flagOption('check and render everything, send nothing, record no send'),
  to: {
    type: 'string',
    value: 'ADDRESS',
    help: 'send one test copy to ADDRESS, record nothing',
    schema: z.string().optional(),
  },
  connections: {
    type: 'string',
    value: 'N',
    help: 'SMTP connections at once (default: 5)',
    schema: z.coerce.number().int().min(1).max(100).default(5),
  },
  rate: {
    type: 'string',
    value: 'N',
    help: 'at most N messages per second (default: no limit; a new Amazon SES account: 14)',
    schema: z.coerce.number().positive().max(100_000).optional(),
  },
  unknown: {
    type: 'string',
    value: 'POLICY',
    help: 'recipients whose outcome is unknown after a crash: resend (default, same\nMessage-ID) or skip',
    schema: z.enum(['resend', 'skip']).default('resend'),
  },
  'new-send': flagOption(
    "send the article's current text to everyone again, under new Message-IDs,\nalthough a send of it began earlier (which keeps the text it froze)",
  ),
  state: stateOption,
  out: outOption(),
} satisfies OptionTable;

export type PublishOptions = OptionsOf<typeof options>;

/** What tests replace: retry delays, the clock of the rate limit, the jitter, the lock nonce. */
export type PublishDeps = Pick<SendDeps, 'retry' | 'clock' | 'random' | 'nonce'>;

export const defaultPublishDeps: PublishDeps = defaultSendDeps;

export async function runPublish(
  options: PublishOptions,
  positionals: readonly string[],
  context: RunContext,
  deps: PublishDeps = defaultPublishDeps,
): Promise<number> {
  if (positionals.length > 1) throw new KurierError('USAGE', 'give at most one slug: kurier publish [slug].');
  const { io, root, paths } = context;
  const sendEnv = await readSendEnv(root, context.env);
  const mode: SendMode = options['dry-run'] ? 'dry-run' : sendEnv.smtp !== undefined ? 'smtp' : 'outbox';
  if (mode === 'smtp' && sendEnv.secret === undefined) {
    throw new KurierError(
      'SECRET_MISSING',
      'KURIER_SECRET is not set, and it signs every unsubscribe link; set it (make one with: openssl rand -hex 32) in the environment or .env. Without SMTP_URL or with --dry-run, Kurier works without it.',
    );
  }
  if (sendEnv.dkim !== undefined) checkDkimKey(sendEnv.dkim);
  const subscriptionEnv = parseSubscriptionEnv(context.env);
  const keys = planMessageKeys(sendEnv.secret, subscriptionEnv.secrets);
  const picked = await buildAndPickArticle(
    { root, outDir: paths.outDir, stateDir: paths.stateDir },
    positionals[0],
  );
  for (const warning of picked.build.warnings) io.err(`warning: ${warning}`);
  const count = picked.build.articles.length;
  io.out(
    `Built ${count} article${count === 1 ? '' : 's'} into ${path.relative(root, paths.outDir) || '.'}/.`,
  );
  const message = frozenMessageOf(picked.build.site, picked.article, picked.email);
  const outbox = outboxDirectory(paths.stateDir, picked.article.slug);
  const transport = openTransport({
    mode,
    sendEnv,
    from: message.email.from.email,
    connections: options.connections,
    outbox,
  });
  const sendDeps: SendDeps = { ...deps, transport, io, now: context.now, signal: context.signal };
  try {
    if (options.to !== undefined) {
      const copy = await sendTestCopy(options.to, message, keys, sendDeps);
      if (copy.failure !== undefined) {
        io.err(`The test copy to ${copy.to} failed: ${copy.failure}`);
        return 1;
      }
      io.out(
        `Test copy of "${copy.title}" sent to ${copy.to} via ${transport.description} (nothing recorded).`,
      );
      return 0;
    }
    const subscribersFile = path.resolve(root, options.subscribers ?? SUBSCRIBERS_FILE);
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
          list: options.subscribers === undefined ? list : { ...list, required: true },
          mode,
          strict: options.strict,
          unknown: options.unknown,
          connections: options.connections,
          rate: options.rate,
          newSend: options['new-send'],
          message,
          keys,
        },
        sendDeps,
      );
    } finally {
      await store.close();
    }
    if (report.kind === 'nothing') return 0;
    return printSendReport(io, report.summary, {
      mode,
      outbox: path.relative(root, outbox),
      via: transport.description,
    });
  } finally {
    await transport.close();
  }
}

export const publishCommand = defineCommand({
  name: 'publish',
  summary: 'Send the newest article (or <slug>) as a newsletter to every subscriber who has not had it',
  usage: 'kurier publish [slug] [options]',
  about: `Builds the publication, then sends the newsletter of the newest article (or of <slug>) to every
subscriber who has not received it yet. Safe to run again at any time: after a crash, Ctrl-C or a
stop by the server it continues where it left off, and nobody gets the email twice.

Where it sends:
  SMTP_URL set        over SMTP (smtp://user:pass@host:587 or smtps://…:465); needs KURIER_SECRET
  SMTP_URL not set    writes every message as an .eml file into <state>/outbox/<slug>/
Variables come from the environment or a .env file in the project root (the environment wins):
  SMTP_URL, KURIER_SECRET (signs unsubscribe links and return paths), KURIER_OLD_SECRETS,
  DATABASE_URL, DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE, DKIM_SELECTOR, DKIM_DOMAIN (optional
  DKIM signing), KURIER_STATE_DIR.`,
  footer: `The list and the message are frozen when a send starts: rows added later get the next article, and
an edit of the article does not change a send that has begun. The list lives in the subscriber store
(<state>/kurier.db, or DATABASE_URL=postgres://…); subscribers.csv (or --subscribers) is imported
into it first, and never brings back an address that unsubscribed, bounced or complained.
Exit code 0 when every recipient of this run got the email (or there was nobody to send to), 1 otherwise.`,
  options,
  allowPositionals: true,
  run: (values, positionals, context) => runPublish(values, positionals, context),
});
