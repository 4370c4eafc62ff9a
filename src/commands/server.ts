// `kurier server`: the public subscription service (sign-up with double opt-in, confirm, one-click
// unsubscribe) and the sender of the confirmation mails queued in the store.

import { z } from '../schema.ts';
import { runServer } from '../server/start.ts';
import { defineCommand, flagOption, type OptionTable, stateOption } from './command.ts';

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
    await runServer(
      {
        host: values.host,
        port: values.port,
        bouncesEveryMs: values['bounces-every'],
        trustProxy: values['trust-proxy'],
      },
      context,
    );
    return 0;
  },
});
