// `kurier server` from start to stop: the settings, templates, transport and store wired to the HTTP app,
// the confirmation-mail worker and (with BOUNCE_IMAP_URL) the bounce schedule; closed in order on the signal.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { parseBounceImapUrl } from '../bounces/imap.ts';
import { planRunName } from '../bounces/project.ts';
import { renderBounceReport } from '../bounces/report.ts';
import { createStoreLedger } from '../bounces/store-ledger.ts';
import { planBounceSettings, runBouncesOnMailbox, startBounceSchedule } from '../bounces/store-run.ts';
import { readSite } from '../content/read-site.ts';
import type { RunContext } from '../context.ts';
import { formatError, KurierError } from '../error.ts';
import { readSendEnv } from '../send/env.ts';
import { createOutboxTransport } from '../send/outbox.ts';
import { createSmtpTransport, heloName, type Transport } from '../send/transport.ts';
import { prepareConfirmationMail, readConfirmationTemplates } from '../subscribe/confirmation-mail.ts';
import { planListName } from '../subscribe/links.ts';
import { openRunStore } from '../subscribe/open-store.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';
import { planSubscriptionStrings } from '../subscribe/strings.ts';
import { planKeyRing } from '../subscribe/tokens.ts';
import { createApp } from './app.ts';
import { startConfirmationWorker } from './confirmation-sender.ts';
import { preparePages, readPageTemplate } from './pages.ts';
import { createWebhookRoutes, parseWebhookEnv } from './webhooks.ts';

/** Sign-ups per IP in ten minutes: a household or an office behind one address fits, a script does not. */
const SIGN_UPS_PER_IP = 20;
const CONFIRMATION_LEASE_MS = 30_000;
const QUEUE_INTERVAL_MS = 5_000;

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  /** How often the return mailbox is read when BOUNCE_IMAP_URL is set. */
  readonly bouncesEveryMs: number;
  /** Take the client IP from X-Forwarded-For. */
  readonly trustProxy: boolean;
}

/** Logs a failure of a background task that retries: a KurierError as the CLI prints it, anything else briefly. */
function reportRetry(context: RunContext, task: string) {
  return (error: unknown) =>
    context.io.err(
      error instanceof KurierError ? formatError(error) : `${task}: ${(error as Error).message} (retrying)`,
    );
}

/** Runs the service until `context.signal` aborts, then stops after the requests and mail in flight. */
export async function runServer(options: ServerOptions, context: RunContext): Promise<void> {
  const { paths, env } = context;
  const settings = parseSubscriptionEnv(env);
  const sendEnv = await readSendEnv(context.root, env);
  const webhookSettings = parseWebhookEnv(env);
  const bounceUrl = env.BOUNCE_IMAP_URL?.trim();
  const bounceTarget =
    bounceUrl === undefined || bounceUrl === '' ? undefined : parseBounceImapUrl(bounceUrl);
  if (settings.secrets.length === 0) {
    throw new KurierError(
      'SECRET_MISSING',
      'KURIER_SECRET is not set, and it signs every confirm and unsubscribe link; set it (e.g. openssl rand -hex 32) in the environment or .env.',
    );
  }
  const site = await readSite(context.root);
  const templatesDir = path.join(context.root, 'templates');
  const pages = preparePages(await readPageTemplate(templatesDir), {
    title: site.title,
    url: site.baseUrl,
    language: site.language,
  });
  const mailer = await prepareConfirmationMail(await readConfirmationTemplates(templatesDir), {
    title: site.title,
    url: site.baseUrl,
    language: site.language,
    imprint: site.email.imprint,
    from: site.email.from,
  });
  const transport: Transport =
    sendEnv.smtp === undefined
      ? createOutboxTransport(path.join(paths.stateDir, 'outbox', 'confirmations'))
      : createSmtpTransport({
          server: sendEnv.smtp,
          name: heloName(hostname(), site.email.from.email),
          connections: 2,
          dkim: sendEnv.dkim,
        });
  await transport.verify();
  const store = await openRunStore(context);
  const subscriptions = {
    store,
    ring: planKeyRing(settings.secrets),
    list: planListName(site.baseUrl),
    now: context.now,
  };
  let worker: ReturnType<typeof startConfirmationWorker> | undefined;
  let bounces: ReturnType<typeof startBounceSchedule> | undefined;
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  try {
    app = await createApp({
      subscriptions,
      pages,
      siteOrigin: new URL(site.baseUrl).origin,
      defaultWording: planSubscriptionStrings(site.language).consentDefault(site.title),
      onSignUp: () => worker?.kick(),
      log: (line) => context.io.out(line),
      trustProxy: options.trustProxy,
      signUpLimit: { max: SIGN_UPS_PER_IP, windowMs: 10 * 60_000 },
      webhooks: createWebhookRoutes(webhookSettings, {
        store,
        run: `${planRunName(context.now(), randomBytes)} webhooks`,
        bounce: planBounceSettings(site.email, settings.secrets),
        now: context.now,
        log: (line) => context.io.out(line),
      }),
    });
    const address = await app.listen(options.host, options.port);
    // The site's subscriptions.url is where the form posts, so the links point there too; KURIER_PUBLIC_URL
    // overrides it (a staging host), and without either the links name this local address.
    const configured =
      settings.publicUrl ?? (site.subscriptions === undefined ? undefined : new URL(site.subscriptions.url));
    const publicUrl = configured ?? new URL(`${address}/`);
    if (configured === undefined) {
      context.io.err(
        `subscriptions.url (content/site.yaml) and KURIER_PUBLIC_URL are not set: the confirmation links point at ${publicUrl.href}, which only this machine reaches; set subscriptions.url to the public URL of this service.`,
      );
    }
    worker = startConfirmationWorker(
      {
        ...subscriptions,
        transport,
        mailer,
        publicUrl,
        envelopeFrom: site.email.from.email,
        owner: randomBytes(8).toString('hex'),
        leaseMs: CONFIRMATION_LEASE_MS,
      },
      { intervalMs: QUEUE_INTERVAL_MS, onError: reportRetry(context, 'confirmation mails') },
    );
    if (bounceTarget !== undefined) {
      const bounceSettings = planBounceSettings(site.email, settings.secrets);
      bounces = startBounceSchedule(
        async () => {
          const ledger = createStoreLedger(store, planRunName(context.now(), randomBytes));
          const report = await runBouncesOnMailbox(bounceTarget, ledger, bounceSettings, context.now);
          if (report.recorded > 0) for (const line of renderBounceReport(report)) context.io.out(line);
        },
        options.bouncesEveryMs,
        reportRetry(context, 'bounces'),
      );
    }
    context.io.out(
      `kurier server listening on ${address} (links: ${publicUrl.href}; mail: ${transport.description})`,
    );
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      else context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    context.io.out('kurier server: stopping after the requests and the mail in flight.');
  } finally {
    await app?.close();
    await worker?.stop();
    await bounces?.stop();
    await transport.close();
    await store.close();
  }
}
