// `kurier publish [slug]`: build, then send the article's newsletter to every subscriber who has not had it yet.

import path from 'node:path';
import { buildAndPickArticle } from '../build/pick.ts';
import type { RunContext } from '../context.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { type PublishDeps, publishArticle, readSendSetup } from '../send/publish.ts';
import { printSendReport } from '../send/report.ts';
import { defaultSendDeps } from '../send/service.ts';
import {
  defineCommand,
  flagOption,
  type OptionsOf,
  type OptionTable,
  outOption,
  pathOption,
  stateOption,
} from './command.ts';

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

export const defaultPublishDeps: PublishDeps = defaultSendDeps;

export async function runPublish(
  options: PublishOptions,
  positionals: readonly string[],
  context: RunContext,
  deps: PublishDeps = defaultPublishDeps,
): Promise<number> {
  if (positionals.length > 1) throw new KurierError('USAGE', 'give at most one slug: kurier publish [slug].');
  const { io, root, paths } = context;
  const setup = await readSendSetup(context, options['dry-run']);
  const picked = await buildAndPickArticle(
    { root, outDir: paths.outDir, stateDir: paths.stateDir },
    positionals[0],
  );
  for (const warning of picked.build.warnings) io.err(`warning: ${warning}`);
  const count = picked.build.articles.length;
  io.out(
    `Built ${count} article${count === 1 ? '' : 's'} into ${path.relative(root, paths.outDir) || '.'}/.`,
  );
  const outcome = await publishArticle(
    setup,
    picked,
    {
      to: options.to,
      subscribers: options.subscribers,
      strict: options.strict,
      unknown: options.unknown,
      connections: options.connections,
      rate: options.rate,
      newSend: options['new-send'],
    },
    context,
    deps,
  );
  if (outcome.kind === 'nothing') return 0;
  if (outcome.kind === 'test-copy') {
    const { copy } = outcome;
    if (copy.failure !== undefined) {
      io.err(`The test copy to ${copy.to} failed: ${copy.failure}`);
      return 1;
    }
    io.out(`Test copy of "${copy.title}" sent to ${copy.to} via ${outcome.via} (nothing recorded).`);
    return 0;
  }
  return printSendReport(io, outcome.summary, outcome);
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
