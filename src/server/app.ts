// The HTTP edge of the subscription service on Fastify (the one importer of fastify, @fastify/formbody and
// @fastify/rate-limit). Routes are adapters: request → typed input → one service call → response.

import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from '../schema.ts';
import {
  checkToken,
  confirmByToken,
  type Subscriptions,
  signUp,
  type TokenOutcome,
  unsubscribeByToken,
} from '../subscribe/service.ts';
import type { PageKind, PageRenderer } from './pages.ts';
import type { WebhookRoute } from './webhooks.ts';

export interface AppOptions {
  readonly subscriptions: Subscriptions;
  readonly pages: PageRenderer;
  /** The site's origin: its stylesheet is the only thing the pages load. */
  readonly siteOrigin: string;
  /** The consent wording recorded when the form does not send the one it showed. */
  readonly defaultWording: string;
  /** A sign-up queued a confirmation mail. */
  readonly onSignUp: () => void;
  /** One line per request: method, path without query (no tokens), status, time. Never an address. */
  readonly log: (line: string) => void;
  /** Behind a reverse proxy: take the client's IP from X-Forwarded-For. */
  readonly trustProxy: boolean;
  /** Sign-ups per IP and window (the per-address limit is the store's: one mail per 10 minutes). */
  readonly signUpLimit: { readonly max: number; readonly windowMs: number };
  /** The relays' bounce notifications (src/server/webhooks.ts), when configured. */
  readonly webhooks?: readonly WebhookRoute[];
}

export interface App {
  /** Resolves with the address it listens on, e.g. http://127.0.0.1:8080. */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting, finishes the requests in flight. */
  close(): Promise<void>;
}

const BODY_LIMIT = 16 * 1024;
/** An SNS message may hold 256 KiB; Postmark adds the bounce's text when asked to. */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const text = (max: number) =>
  z
    .string()
    .max(max)
    .transform((value) => value.replace(CONTROL, ' ').trim());

const signUpSchema = z.object({
  email: z.string().max(320),
  name: text(200).default(''),
  // The honeypot: hidden from people by the form's CSS, filled in by bots.
  website: z.string().max(2000).default(''),
  page: text(2000).default(''),
  form: text(100).default('site'),
  consent: text(2000).default(''),
});

const tokenSchema = z.object({ token: z.string().max(200) });

function wantsJson(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('application/json');
}

function tokenOf(request: FastifyRequest): string | undefined {
  const fromBody = tokenSchema.safeParse(request.body);
  if (fromBody.success) return fromBody.data.token;
  const fromQuery = tokenSchema.safeParse(request.query);
  return fromQuery.success ? fromQuery.data.token : undefined;
}

/** RFC 8058 §3.1: the body is "List-Unsubscribe=One-Click", form-urlencoded or multipart/form-data. */
function isOneClick(body: unknown): boolean {
  if (typeof body === 'string') {
    return /name="?List-Unsubscribe"?\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/i.test(body);
  }
  return (body as Record<string, unknown> | null)?.['List-Unsubscribe'] === 'One-Click';
}

function userAgent(request: FastifyRequest): string {
  return (request.headers['user-agent'] ?? '').slice(0, 500);
}

export async function createApp(options: AppOptions): Promise<App> {
  const { subscriptions, pages } = options;
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, trustProxy: options.trustProxy });
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  // Mail providers send the one-click POST as multipart/form-data too; it is read as text.
  app.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );
  await app.register(rateLimit, { global: false });

  const csp = [
    "default-src 'none'",
    `style-src ${options.siteOrigin}`,
    `img-src ${options.siteOrigin}`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', csp);
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    // Tokens are in the URL of the pages: no Referer may carry them to another site.
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?', 1)[0];
    options.log(
      `${subscriptions.now().toISOString()} ${request.method} ${path} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`,
    );
  });

  const page = (reply: FastifyReply, code: number, kind: PageKind, token?: string) =>
    reply.code(code).type('text/html; charset=utf-8').send(pages(kind, token));

  const tooMany = (request: FastifyRequest, reply: FastifyReply) =>
    wantsJson(request) ? reply.code(429).send({ status: 'too-many-requests' }) : page(reply, 429, 'too-many');

  app.setErrorHandler((failure, request, reply) => {
    const error = failure as Error & { statusCode?: number };
    const status = error.statusCode ?? 500;
    if (status === 429) return tooMany(request, reply);
    if (status < 500) return reply.code(status).send({ status: 'error', message: error.message });
    // A database error may quote a row: no address reaches the log.
    options.log(
      `error ${request.method} ${request.url.split('?', 1)[0]}: ${error.message.replace(/\S+@\S+/g, '[address]')}`,
    );
    return reply.code(503).send({ status: 'unavailable' });
  });

  app.get('/health', async (_request, reply) => {
    try {
      const queued = await subscriptions.store.countQueuedConfirmations();
      return reply.send({ status: 'ok', queuedConfirmations: queued });
    } catch {
      return reply.code(503).send({ status: 'store unavailable' });
    }
  });

  app.post(
    '/subscribe',
    {
      config: {
        rateLimit: {
          max: options.signUpLimit.max,
          timeWindow: options.signUpLimit.windowMs,
          // The limit's own answer would be JSON; the reader gets a page, a script JSON.
          errorResponseBuilder: () => ({ statusCode: 429, limited: true }),
        },
      },
    },
    async (request, reply) => {
      const parsed = signUpSchema.safeParse(request.body);
      const outcome = !parsed.success
        ? 'invalid'
        : await signUp(subscriptions, {
            address: parsed.data.email,
            name: parsed.data.name,
            honeypot: parsed.data.website,
            evidence: {
              form: parsed.data.form,
              page: parsed.data.page || (request.headers.referer ?? '').slice(0, 2000),
              wording: parsed.data.consent || options.defaultWording,
              ip: request.ip,
              userAgent: userAgent(request),
            },
          });
      if (outcome === 'invalid') {
        return wantsJson(request)
          ? reply.code(400).send({ status: 'invalid-address' })
          : page(reply, 400, 'invalid-address');
      }
      options.onSignUp();
      // The same answer for a new, pending, active or unsubscribed address: nobody learns who is listed.
      return wantsJson(request)
        ? reply.code(202).send({ status: 'check-your-inbox' })
        : reply.code(303).header('location', 'subscribed').send();
    },
  );

  app.get('/subscribed', async (_request, reply) => page(reply, 200, 'check-inbox'));

  const linkLimit = { rateLimit: { max: 120, timeWindow: 60_000 } };
  const failed = (reply: FastifyReply, outcome: TokenOutcome) =>
    outcome === 'expired' ? page(reply, 410, 'expired-link') : page(reply, 400, 'invalid-link');

  app.get('/confirm', { config: linkLimit }, async (request, reply) => {
    const token = tokenOf(request);
    const check = token === undefined ? undefined : checkToken(subscriptions, token, 'confirm');
    if (check === undefined || !check.ok) {
      return failed(
        reply,
        check !== undefined && !check.ok && check.reason === 'expired' ? 'expired' : 'invalid',
      );
    }
    return page(reply, 200, 'confirm', token);
  });

  app.post('/confirm', { config: linkLimit }, async (request, reply) => {
    const token = tokenOf(request);
    const outcome =
      token === undefined
        ? 'invalid'
        : await confirmByToken(subscriptions, token, { ip: request.ip, userAgent: userAgent(request) });
    if (outcome === 'done') return page(reply, 200, 'confirmed');
    if (outcome === 'already') return page(reply, 200, 'already-confirmed');
    return failed(reply, outcome);
  });

  app.get('/unsubscribe', async (request, reply) => {
    const token = tokenOf(request);
    const check = token === undefined ? undefined : checkToken(subscriptions, token, 'unsubscribe');
    if (check === undefined || !check.ok) return page(reply, 400, 'invalid-link');
    return page(reply, 200, 'unsubscribe', token);
  });

  // No rate limit: a mailbox provider sends many one-click POSTs from few addresses, and an unsubscribe
  // must never be lost (Gmail and Yahoo require it honoured).
  app.post('/unsubscribe', async (request, reply) => {
    const oneClick = isOneClick(request.body);
    const fromQuery = tokenSchema.safeParse(request.query);
    const token = oneClick && fromQuery.success ? fromQuery.data.token : tokenOf(request);
    const outcome =
      token === undefined
        ? 'invalid'
        : await unsubscribeByToken(
            subscriptions,
            token,
            oneClick ? 'one-click unsubscribe (RFC 8058)' : 'unsubscribe page',
          );
    if (oneClick) {
      // RFC 8058 §3.2: answer at once, no redirect and no page to look at.
      return outcome === 'invalid'
        ? reply.code(400).type('text/plain').send('invalid link\n')
        : reply.code(200).type('text/plain').send('unsubscribed\n');
    }
    return outcome === 'invalid' ? page(reply, 400, 'invalid-link') : page(reply, 200, 'unsubscribed');
  });

  for (const webhook of options.webhooks ?? []) {
    app.post(webhook.path, { bodyLimit: WEBHOOK_BODY_LIMIT }, async (request, reply) => {
      const response = await webhook.handle({ headers: request.headers, body: request.body });
      return reply
        .code(response.status)
        .headers(response.headers ?? {})
        .send(response.body);
    });
  }

  return {
    async listen(host, port) {
      return app.listen({ host, port });
    },
    close: () => app.close(),
  };
}
