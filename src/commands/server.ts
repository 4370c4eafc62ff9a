// `kurier server`: the public subscription service (sign-up with double opt-in, confirm, one-click
// unsubscribe) and the sender of the confirmation mails queued in the store.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { parseBounceImapUrl } from '../bounces/imap.ts';
import { planBounceSettings, runBouncesOnStore, startBounceSchedule } from '../bounces/store-run.ts';
import { SETTINGS_FILE } from '../content/read-content.ts';
import { parseSite } from '../content/settings.ts';
import { formatError, KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { readSendEnv } from '../send/env.ts';
import { createOutboxTransport } from '../send/outbox.ts';
import { createSmtpTransport, heloName, type Transport } from '../send/transport.ts';
import { createApp } from '../server/app.ts';
import { startConfirmationWorker } from '../server/confirmation-sender.ts';
import { preparePages, readPageTemplate } from '../server/pages.ts';
import { createWebhookRoutes, parseWebhookEnv } from '../server/webhooks.ts';
import { prepareConfirmationMail, readConfirmationTemplates } from '../subscribe/confirmation-mail.ts';
import { planListName } from '../subscribe/links.ts';
import { openProjectStore } from '../subscribe/open-store.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';
import { planSubscriptionStrings } from '../subscribe/strings.ts';
import { planKeyRing } from '../subscribe/tokens.ts';
import { renderBounceReport } from './bounces.ts';
import { planRunName } from './bounces-store.ts';
import { defineCommand, flagOption, type OptionTable, stateOption } from './command.ts';

/** Sign-ups per IP in ten minutes: a household or an office behind one address fits, a script does not. */
const SIGN_UPS_PER_IP = 20;
const CONFIRMATION_LEASE_MS = 30_000;
const QUEUE_INTERVAL_MS = 5_000;

const options = {
  host: {
    type: 'string',
    value: 'HOST',
    help: 'address to listen on (default: 127.0.0.1; put a reverse proxy in front)',
    schema: z.string().min(1).default('127.0.0.1'),
  },
  port: {
    type: 'string',
    value: 'PORT',
    help: 'port to listen on (default: 8080)',
    schema: z
      .string()
      .regex(/^\d+$/, 'expected a number from 0 to 65535')
      .transform(Number)
      .pipe(z.number().max(65_535, 'expected a number from 0 to 65535'))
      .default(8080),
  },
  'bounces-every': {
    type: 'string',
    value: 'TIME',
    help: 'read the return mailbox this often when BOUNCE_IMAP_URL is set (default: 5m; 30s, 5m, 1h)',
    schema: z
      .string()
      .regex(/^\d+[smh]$/, 'expected a number and s, m or h, e.g. 5m')
      .transform(
        (text) => Number(text.slice(0, -1)) * { s: 1_000, m: 60_000, h: 3_600_000 }[text.slice(-1) as 's'],
      )
      .refine((ms) => ms >= 10_000, 'expected at least 10s')
      .default(300_000),
  },
  'trust-proxy': flagOption('take the client IP from X-Forwarded-For (only behind your own proxy)'),
  state: stateOption,
} satisfies OptionTable;

export const serverCommand = defineCommand({
  name: 'server',
  summary: 'Run the subscription service (sign-up, confirm, one-click unsubscribe)',
  usage: 'kurier server [--host HOST] [--port PORT] [--trust-proxy] [--state DIR]',
  about: `The public subscription service: POST /subscribe (double opt-in: a pending subscriber and a
confirmation mail), GET+POST /confirm, GET+POST /unsubscribe (also RFC 8058 one-click), GET /health.
Confirmation mails are queued in the store and sent over SMTP_URL (or written to the outbox in the
state folder without it), so a restart loses none. Stops cleanly on SIGTERM or Ctrl-C.`,
  footer: `Environment (or .env): KURIER_SECRET (signs the links; required), KURIER_OLD_SECRETS (earlier
secrets, still accepted), KURIER_PUBLIC_URL (where this service is reached, for the links in the
confirmation mail), DATABASE_URL (postgres://…; default: SQLite in the state folder), SMTP_URL, DKIM_*,
BOUNCE_IMAP_URL (the return mailbox: kurier bounces runs every --bounces-every while the service runs).
Relay bounce notifications (README, "Bounces from a relay"): SES_SNS_TOPIC_ARN (turns on POST
/webhooks/ses for these SNS topics, comma-separated), SES_SNS_CERT_URL_PATTERN (where signing
certificates may come from; default: https://sns.<region>.amazonaws.com/….pem), POSTMARK_WEBHOOK_USER
and POSTMARK_WEBHOOK_PASSWORD (turn on POST /webhooks/postmark with HTTP Basic auth).`,
  options,
  allowPositionals: false,
  async run(values, _positionals, context) {
    const { host, port } = values;
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
    const settingsFile = path.join(context.root, SETTINGS_FILE);
    const site = parseSite(
      await readFile(settingsFile, 'utf8').catch((error: unknown) => {
        throw new KurierError(
          'SETTINGS_INVALID',
          `cannot read the publication settings (${(error as Error).message}).`,
          {
            file: SETTINGS_FILE,
            cause: error,
          },
        );
      }),
      SETTINGS_FILE,
    );
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
    const store = await openProjectStore({
      stateDir: paths.stateDir,
      databaseUrl: settings.databaseUrl,
      now: context.now(),
      randomBytes,
      onLegacyImport: (message) => context.io.err(message),
    });
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
        trustProxy: values['trust-proxy'],
        signUpLimit: { max: SIGN_UPS_PER_IP, windowMs: 10 * 60_000 },
        webhooks: createWebhookRoutes(webhookSettings, {
          store,
          run: `${planRunName(context.now(), randomBytes)} webhooks`,
          bounce: planBounceSettings(site.email, settings.secrets),
          now: context.now,
          log: (line) => context.io.out(line),
        }),
      });
      const address = await app.listen(host, port);
      // The site's subscriptions.url is where the form posts, so the links point there too; KURIER_PUBLIC_URL
      // overrides it (a staging host), and without either the links name this local address.
      const configured =
        settings.publicUrl ??
        (site.subscriptions === undefined ? undefined : new URL(site.subscriptions.url));
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
        {
          intervalMs: QUEUE_INTERVAL_MS,
          onError: (error) =>
            context.io.err(
              error instanceof KurierError
                ? formatError(error)
                : `confirmation mails: ${(error as Error).message} (retrying)`,
            ),
        },
      );
      if (bounceTarget !== undefined) {
        const bounceSettings = planBounceSettings(site.email, settings.secrets);
        bounces = startBounceSchedule(
          async () => {
            const run = planRunName(context.now(), randomBytes);
            const report = await runBouncesOnStore(bounceTarget, store, bounceSettings, context.now, run);
            if (report.recorded > 0) for (const line of renderBounceReport(report)) context.io.out(line);
          },
          values['bounces-every'],
          (error) =>
            context.io.err(
              error instanceof KurierError
                ? formatError(error)
                : `bounces: ${(error as Error).message} (retrying)`,
            ),
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
      return 0;
    } finally {
      await app?.close();
      await worker?.stop();
      await bounces?.stop();
      await transport.close();
      await store.close();
    }
  },
});
