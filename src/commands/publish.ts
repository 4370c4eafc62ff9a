// `kurier publish [slug]`: build, then send the article's newsletter to every subscriber who has not had it yet.

import { randomUUID } from 'node:crypto';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildPublication } from '../build/build.ts';
import { compileEmail } from '../email/compile.ts';
import { prepareMessage, renderMessage } from '../email/mime.ts';
import { type CompiledEmail, EXTRA_FIELD_PREFIX } from '../email/model.ts';
import { readEmailTemplates } from '../email/read-templates.ts';
import { type ErrorCode, KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { z } from '../schema.ts';
import { parseAddress } from '../send/address.ts';
import { type DeliverySummary, deliver } from '../send/deliver.ts';
import { mergeEnv, readEnvFile, readSendEnv } from '../send/env.ts';
import { Journal, readJournal } from '../send/journal.ts';
import { acquireLock } from '../send/lock.ts';
import { createDryRunTransport, createOutboxTransport, outboxDirectory } from '../send/outbox.ts';
import {
  DEFAULT_RETRY,
  planDomain,
  planMessageId,
  planResume,
  planUnsubscribeMailto,
  planUnsubscribeToken,
  planUnsubscribeUrl,
  type RetryPolicy,
  type SendPlan,
  type UnknownPolicy,
} from '../send/plan.ts';
import { createProgressReporter, formatDuration } from '../send/progress.ts';
import { type Clock, systemClock } from '../send/rate.ts';
import {
  type FrozenDraft,
  freezeRecipients,
  JOURNAL_FILE,
  LOCK_FILE,
  type Recipient,
  readRecipients,
  readSendMeta,
  type SendMeta,
  sendDirectory,
} from '../send/recipients.ts';
import { readSuppression, SuppressionWriter } from '../send/suppression.ts';
import { checkDkimKey, createSmtpTransport, type HaltReason, type Transport } from '../send/transport.ts';
import type { Command, CommandContext, Io, OptionValues } from './command.ts';
import { type Paths, planPaths } from './paths.ts';

export const SUBSCRIBERS_FILE = 'subscribers.csv';

const HELP = `Usage: kurier publish [slug] [options]

Builds the publication, then sends the newsletter of the newest article (or of <slug>) to every
subscriber who has not received it yet. Safe to run again at any time: after a crash, Ctrl-C or a
stop by the server it continues where it left off, and nobody gets the email twice.

Where it sends:
  SMTP_URL set        over SMTP (smtp://user:pass@host:587 or smtps://…:465); needs KURIER_SECRET
  SMTP_URL not set    writes every message as an .eml file into <state>/outbox/<slug>/
Variables come from the environment or a .env file in the project root (the environment wins):
  SMTP_URL, KURIER_SECRET (signs unsubscribe links), DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE,
  DKIM_SELECTOR, DKIM_DOMAIN (optional DKIM signing), KURIER_STATE_DIR.

Options:
  --subscribers FILE  the subscriber list (default: subscribers.csv); Kurier, listmonk or Mailchimp CSV
  --strict            stop when the list has an invalid row (default: report and skip it)
  --dry-run           check and render everything, send nothing, record nothing
  --to ADDRESS        send one test copy to ADDRESS, record nothing
  --connections N     SMTP connections at once (default: 5)
  --rate N            at most N messages per second (default: no limit; a new Amazon SES account: 14)
  --unknown POLICY    recipients whose outcome is unknown after a crash: resend (default, same
                      Message-ID) or skip
  --state DIR         private state folder (default: .kurier, or KURIER_STATE_DIR)
  --out DIR           where the build writes (default: out)
  -h, --help          show this help

The list is frozen when a send starts: rows added later get the next article. The suppression list
(<state>/suppressed.jsonl: unsubscribed and hard-bounced addresses) always wins over the CSV.
Exit code 0 when every recipient of this run got the email, 1 otherwise.`;

const optionsSchema = z.object({
  subscribers: z.string().min(1).optional(),
  strict: z.boolean().default(false),
  'dry-run': z.boolean().default(false),
  to: z.string().optional(),
  connections: z.coerce.number().int().min(1).max(100).default(5),
  rate: z.coerce.number().positive().max(100_000).optional(),
  unknown: z.enum(['resend', 'skip']).default('resend'),
});

type PublishOptions = z.output<typeof optionsSchema>;

/** What tests replace: retry delays, the clock of the rate limit, the jitter, the lock nonce. */
export interface PublishDeps {
  readonly retry: RetryPolicy;
  readonly clock: Clock;
  readonly random: () => number;
  readonly nonce: () => string;
}

export const defaultPublishDeps: PublishDeps = {
  retry: DEFAULT_RETRY,
  clock: systemClock,
  random: Math.random,
  nonce: randomUUID,
};

const number = new Intl.NumberFormat('en-US');
const PROBLEMS_SHOWN = 20;

function parseOptions(values: OptionValues): PublishOptions {
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KurierError('USAGE', `--${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}.`);
  }
  return parsed.data;
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Everything a send needs about the article, ready to render one reader's message. */
interface Message {
  readonly site: Site;
  readonly article: Article;
  /** Empty values for the list columns the templates use: a test copy has no row in the list. */
  readonly emptyFields: Readonly<Record<string, string>>;
  render(recipient: Recipient, date: Date): Buffer;
}

function planMessage(
  site: Site,
  article: Article,
  compiled: CompiledEmail,
  secret: string | undefined,
): Message {
  const prepared = prepareMessage(compiled, site);
  const domain = planDomain(site.baseUrl);
  const listId = `${site.title} <newsletter.${domain}>`;
  const unsubscribeMailto = planUnsubscribeMailto(site.email.unsubscribeMailto);
  const emptyFields = Object.fromEntries(
    compiled.readerFields
      .filter((field) => field.startsWith(EXTRA_FIELD_PREFIX))
      .map((field) => [field.slice(EXTRA_FIELD_PREFIX.length), '']),
  );
  return {
    site,
    article,
    emptyFields,
    render(recipient, date) {
      const key = recipient.email.toLowerCase();
      const token = planUnsubscribeToken(secret, key);
      return renderMessage(
        prepared,
        {
          email: recipient.email,
          name: recipient.name,
          unsubscribeUrl: planUnsubscribeUrl(site.email.unsubscribeUrl, token),
          fields: recipient.fields,
        },
        {
          messageId: planMessageId(article.id, key, domain),
          date,
          listId,
          unsubscribeMailto,
        },
      );
    },
  };
}

async function buildAndPick(
  context: CommandContext,
  paths: Paths,
  slug: string | undefined,
  secret: string | undefined,
): Promise<Message> {
  const result = await buildPublication({
    root: context.root,
    outDir: paths.outDir,
    stateDir: paths.stateDir,
  });
  for (const warning of result.warnings) context.io.err(`warning: ${warning}`);
  const count = result.articles.length;
  context.io.out(
    `Built ${count} article${count === 1 ? '' : 's'} into ${path.relative(context.root, paths.outDir) || '.'}/.`,
  );
  const article = slug === undefined ? result.articles[0] : result.articles.find((a) => a.slug === slug);
  if (article === undefined) {
    if (slug === undefined) {
      throw new KurierError(
        'CONTENT_EMPTY',
        'there is no published article to send; write one (kurier new) first.',
      );
    }
    const known = result.articles.slice(0, 5).map((a) => a.slug);
    throw new KurierError(
      'ARTICLE_NOT_FOUND',
      `no published article has the slug "${slug}"${known.length > 0 ? ` (newest: ${known.join(', ')})` : ''}; drafts are never sent.`,
    );
  }
  // The build compiles the newest articles' emails; an older one named by slug is compiled here.
  const compiled =
    result.emails.find((email) => email.article.id === article.id)?.email ??
    (await compileEmail(
      result.site,
      article,
      await readEmailTemplates(path.join(context.root, 'templates')),
    ));
  return planMessage(result.site, article, compiled, secret);
}

function haltError(reason: HaltReason, response: string, description: string): KurierError {
  const codes: Record<HaltReason, ErrorCode> = {
    auth: 'SMTP_AUTH',
    unavailable: 'SMTP_CONNECTION',
    connection: 'SMTP_CONNECTION',
    throttled: 'SMTP_SENDER_BLOCKED',
    quota: 'SMTP_SENDER_BLOCKED',
    sender: 'SMTP_SENDER_BLOCKED',
  };
  const advice: Record<HaltReason, string> = {
    auth: 'check the login in SMTP_URL',
    unavailable: 'the server closed the session for everyone; wait a little',
    connection: 'the server stopped answering; check that it is up',
    throttled: 'the server throttles this sender; lower --rate or --connections and wait',
    quota: 'the sending quota is used up; wait until it resets (usually the next day)',
    sender: 'the server refuses the sender address; check email.from in content/site.yaml with your provider',
  };
  return new KurierError(
    codes[reason],
    `${description} answered "${response}": ${advice[reason]}, then run kurier publish again to continue where it stopped.`,
  );
}

function printSummary(io: Io, summary: DeliverySummary, verb: string): void {
  io.out(
    `${verb} ${number.format(summary.sent)}, rejected ${number.format(summary.rejected)}, deferred ${number.format(summary.deferred)}, ` +
      `skipped ${number.format(summary.skipped)}${summary.notAttempted > 0 ? `, not reached ${number.format(summary.notAttempted)}` : ''}` +
      ` in ${formatDuration(summary.elapsedMs)}.`,
  );
  for (const rejection of summary.rejections) io.err(`  rejected ${rejection.email}: ${rejection.response}`);
  if (summary.rejected > summary.rejections.length) {
    io.err(`  … and ${number.format(summary.rejected - summary.rejections.length)} more (kurier status)`);
  }
  if (summary.hardBounces > 0) {
    io.out(`${number.format(summary.hardBounces)} address(es) do not exist and joined the suppression list.`);
  }
}

type Mode = 'smtp' | 'outbox' | 'dry-run';

export async function runPublish(
  values: OptionValues,
  positionals: readonly string[],
  context: CommandContext,
  deps: PublishDeps = defaultPublishDeps,
): Promise<number> {
  const options = parseOptions(values);
  if (positionals.length > 1) throw new KurierError('USAGE', 'give at most one slug: kurier publish [slug].');
  const env = mergeEnv(await readEnvFile(context.root), context.env);
  const paths = planPaths({ root: context.root, env }, values);
  if (isInside(paths.outDir, paths.stateDir) || isInside(paths.stateDir, paths.outDir)) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      `the private state folder ${paths.stateDir} overlaps the published folder ${paths.outDir}; subscriber data and the journal must never be published: choose another --state.`,
    );
  }
  const sendEnv = await readSendEnv(context.root, env);
  const mode: Mode = options['dry-run'] ? 'dry-run' : sendEnv.smtpUrl !== undefined ? 'smtp' : 'outbox';
  if (mode === 'smtp' && sendEnv.secret === undefined) {
    throw new KurierError(
      'SECRET_MISSING',
      'KURIER_SECRET is not set, and it signs every unsubscribe link; set it (e.g. openssl rand -hex 32) in the environment or .env. Without SMTP_URL or with --dry-run, Kurier works without it.',
    );
  }
  if (sendEnv.dkim !== undefined) checkDkimKey(sendEnv.dkim);
  const message = await buildAndPick(context, paths, positionals[0], sendEnv.secret);
  const transport =
    mode === 'dry-run'
      ? createDryRunTransport()
      : sendEnv.smtpUrl !== undefined
        ? createSmtpTransport({ url: sendEnv.smtpUrl, connections: options.connections, dkim: sendEnv.dkim })
        : createOutboxTransport(outboxDirectory(paths.stateDir, message.article.slug));
  try {
    if (options.to !== undefined) return await sendTestCopy(context, options.to, message, transport);
    return await sendNewsletter({ context, deps, options, paths, mode, message, transport });
  } finally {
    await transport.close();
  }
}

interface SendRun {
  readonly context: CommandContext;
  readonly deps: PublishDeps;
  readonly options: PublishOptions;
  readonly paths: Paths;
  readonly mode: Mode;
  readonly message: Message;
  readonly transport: Transport;
}

/** The recipient list of this run: frozen earlier, or just frozen and not yet made the send's list. */
interface OpenList {
  readonly dir: string;
  readonly meta: SendMeta | undefined;
  readonly first: Recipient | undefined;
  /** Makes a fresh freeze the list of the send (after every check passed). */
  readonly commit: (() => Promise<SendMeta>) | undefined;
  readonly abort: () => Promise<void>;
}

/**
 * The list of the send: the frozen one when the send has begun, else the subscriber list frozen now. A
 * rehearsal (dry run, outbox) freezes into a scratch folder, so it never fixes the list of the real send.
 */
async function openList(run: SendRun, sendDir: string, suppressed: ReadonlySet<string>): Promise<OpenList> {
  const { context, options, mode, message } = run;
  const { io, root } = context;
  const meta = await readSendMeta(sendDir);
  if (meta !== undefined) {
    io.out(
      `Continuing the send of "${meta.slug}" started ${meta.frozenAt}: ${number.format(meta.total)} recipients, frozen then (the subscriber list is not read again).`,
    );
    return { dir: sendDir, meta, first: undefined, commit: undefined, abort: async () => {} };
  }
  const journalFile = path.join(sendDir, JOURNAL_FILE);
  if (mode === 'smtp' && (await exists(journalFile))) {
    throw new KurierError(
      'JOURNAL_INVALID',
      `the send journal exists but the description of its send (send.json) is missing; restore it, or move ${sendDir} away to start this send from scratch (everyone would get the email again).`,
      { file: journalFile },
    );
  }
  if (mode === 'smtp') {
    // A freeze cut short by a crash left its temp file behind; we hold the lock, so nobody else writes here.
    const names = await readdir(sendDir).catch(() => []);
    await Promise.all(
      names.filter((name) => name.endsWith('.tmp')).map((name) => rm(path.join(sendDir, name))),
    );
  }
  const scratch = mode === 'smtp' ? undefined : await mkdtemp(path.join(tmpdir(), 'kurier-rehearsal-'));
  const dir = scratch ?? sendDir;
  const dropScratch = async (): Promise<void> => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  };
  const subscribersFile = path.resolve(root, options.subscribers ?? SUBSCRIBERS_FILE);
  const displayName = path.relative(root, subscribersFile) || subscribersFile;
  let invalid = 0;
  let firstInvalidLine: number | undefined;
  let draft: FrozenDraft;
  try {
    draft = await freezeRecipients(dir, {
      subscribersFile,
      displayName,
      suppressed,
      onProblem: (problem) => {
        invalid += 1;
        firstInvalidLine ??= problem.line;
        if (invalid <= PROBLEMS_SHOWN) io.err(`${displayName}:${problem.line}  ${problem.problem}`);
      },
    });
  } catch (error) {
    await dropScratch();
    throw error;
  }
  if (invalid > PROBLEMS_SHOWN) io.err(`… and ${number.format(invalid - PROBLEMS_SHOWN)} more invalid rows.`);
  const abort = async (): Promise<void> => {
    await draft.abort();
    await dropScratch();
  };
  if (options.strict && invalid > 0) {
    await abort();
    throw new KurierError(
      'SUBSCRIBER_INVALID',
      `${number.format(invalid)} row(s) of the subscriber list are invalid (listed above); fix them, or run without --strict to skip them.`,
      { file: displayName, line: firstInvalidLine },
    );
  }
  const { stats } = draft;
  io.out(
    `${displayName}: ${number.format(draft.total)} recipients (${number.format(stats.rows)} rows; left out: ` +
      `${number.format(stats.invalid)} invalid, ${number.format(stats.duplicates)} duplicate, ` +
      `${number.format(stats.inactive)} unsubscribed or bounced, ${number.format(stats.suppressed)} on the suppression list).`,
  );
  const frozenAt = context.now().toISOString();
  const commit = () =>
    draft.commit({
      articleId: message.article.id,
      slug: message.article.slug,
      title: message.article.title,
      frozenAt,
      subscribers: displayName,
    });
  return { dir, meta: undefined, first: draft.first, commit, abort };
}

async function sendNewsletter(run: SendRun): Promise<number> {
  const { context, deps, options, paths, mode, message, transport } = run;
  const { io } = context;
  const { article, site } = message;
  const recording = mode === 'smtp';
  const sendDir = sendDirectory(paths.stateDir, article.id);
  // Only a real send takes the lock: rehearsals record nothing and may run beside it.
  const lock = recording
    ? await acquireLock(path.join(sendDir, LOCK_FILE), {
        now: context.now(),
        nonce: deps.nonce(),
        what: `the newsletter "${article.slug}"`,
      })
    : undefined;
  let list: OpenList | undefined;
  let committed = false;
  let journal: Journal | undefined;
  let bounces: SuppressionWriter | undefined;
  try {
    // Everything is checked before the first message leaves: the server takes the login (first: it is
    // quick, a million-row list is not), the list is valid, a reader's copy renders.
    await transport.verify();
    const suppressed = await readSuppression(paths.stateDir);
    list = await openList(run, sendDir, suppressed);
    const first = list.first ?? (await firstRecipient(list.dir));
    if (first !== undefined) message.render(first, context.now());
    const meta = list.meta ?? (await list.commit?.());
    if (meta === undefined) throw new Error('a frozen list without its description');
    committed = true;

    const states =
      list.dir === sendDir
        ? (await readJournal(path.join(sendDir, JOURNAL_FILE), meta.total)).states
        : new Uint8Array(meta.total);
    const plan = planResume(states, options.unknown);
    announce(io, plan, options.unknown);
    const verb =
      mode === 'dry-run' ? 'Dry run' : recording ? 'Sending' : 'Writing to the outbox (no SMTP_URL)';
    io.out(
      `${verb}: "${article.title}" to ${number.format(plan.toSend)} of ${number.format(plan.total)} recipients` +
        (plan.done.sent > 0 ? ` (${number.format(plan.done.sent)} already have it)` : '') +
        ` via ${transport.description}.`,
    );
    if (recording) {
      journal = await Journal.open(path.join(sendDir, JOURNAL_FILE));
      bounces = await SuppressionWriter.open(paths.stateDir);
    }
    const writer = bounces;
    const date = new Date(meta.frozenAt);
    const summary = await deliver({
      recipients: readRecipients(list.dir),
      states,
      unknown: options.unknown,
      render: (recipient) => message.render(recipient, date),
      envelopeFrom: site.email.from.email,
      transport,
      journal,
      suppressed,
      onHardBounce:
        writer === undefined
          ? undefined
          : (recipient, response) =>
              writer.add({
                email: recipient.email,
                reason: 'bounced',
                at: context.now().toISOString(),
                detail: response,
              }),
      connections: options.connections,
      rate: options.rate,
      retry: deps.retry,
      clock: deps.clock,
      random: deps.random,
      wallTime: () => context.now().getTime(),
      signal: context.signal,
      planned: plan.toSend,
      onProgress: createProgressReporter(io, () => deps.clock.now()),
    });
    printSummary(io, summary, mode === 'dry-run' ? 'Rendered (not sent)' : recording ? 'Sent' : 'Written');
    if (mode === 'outbox' && summary.sent > 0) {
      const where = path.relative(context.root, outboxDirectory(paths.stateDir, article.slug));
      io.out(`The messages are in ${where}/; set SMTP_URL to send them.`);
    }
    if (summary.halt !== undefined)
      throw haltError(summary.halt.reason, summary.halt.response, transport.description);
    if (summary.interrupted) {
      io.err('Stopped. Run kurier publish again to continue where it stopped.');
      return 1;
    }
    if (summary.deferred > 0) {
      io.err(
        `${number.format(summary.deferred)} recipient(s) deferred by the server: run kurier publish again later.`,
      );
    }
    return summary.rejected + summary.deferred + summary.notAttempted > 0 ? 1 : 0;
  } finally {
    await journal?.close();
    await bounces?.close();
    // A fresh freeze that never became the send's list (a check failed) is dropped; a rehearsal's scratch too.
    if (list !== undefined && (!committed || list.dir !== sendDir)) await list.abort();
    await lock?.release();
  }
}

function announce(io: Io, plan: SendPlan, policy: UnknownPolicy): void {
  const unknown = plan.unknownResent + plan.unknownSkipped;
  if (unknown === 0) return;
  io.err(
    policy === 'resend'
      ? `${number.format(unknown)} recipient(s) have an unknown outcome (a run stopped while their message was on the way): sending again with the same Message-ID (--unknown skip leaves them).`
      : `${number.format(unknown)} recipient(s) have an unknown outcome and are left alone (--unknown skip).`,
  );
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function firstRecipient(dir: string): Promise<Recipient | undefined> {
  for await (const { recipient } of readRecipients(dir)) return recipient;
  return undefined;
}

async function sendTestCopy(
  context: CommandContext,
  to: string,
  message: Message,
  transport: Transport,
): Promise<number> {
  const address = parseAddress(to);
  if (!address.ok) throw new KurierError('USAGE', `--to: ${address.reason}.`);
  await transport.verify();
  const reader = { email: address.address, name: '', fields: message.emptyFields };
  const outcome = await transport.send({
    index: -1,
    envelope: { from: message.site.email.from.email, to: address.address },
    raw: message.render(reader, context.now()),
  });
  if (outcome.kind !== 'sent') {
    context.io.err(`The test copy to ${address.address} failed: ${outcome.response}`);
    return 1;
  }
  context.io.out(
    `Test copy of "${message.article.title}" sent to ${address.address} via ${transport.description} (nothing recorded).`,
  );
  return 0;
}

export const publishCommand: Command = {
  name: 'publish',
  summary: 'Send the newest article (or <slug>) as a newsletter to every subscriber who has not had it',
  help: HELP,
  options: {
    subscribers: { type: 'string' },
    strict: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    to: { type: 'string' },
    connections: { type: 'string' },
    rate: { type: 'string' },
    unknown: { type: 'string' },
    state: { type: 'string' },
    out: { type: 'string' },
  },
  allowPositionals: true,
  run: (values, positionals, context) => runPublish(values, positionals, context),
};
