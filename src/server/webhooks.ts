// The relays' bounce notifications over HTTP, for `kurier server`: Amazon SES through SNS (signed by AWS)
// and Postmark (HTTP Basic auth). Each is verified, decided, and recorded through the ledger `kurier bounces`
// records into, under the relay's own id: a retried or replayed delivery changes nothing twice. Framework-free
// handlers; src/server/app.ts mounts them.

import { createHash, timingSafeEqual } from 'node:crypto';
import { classifySesNotification, type Decision } from '../bounces/classify.ts';
import { classifyPostmarkPayload, parsePostmarkPayload } from '../bounces/postmark.ts';
import { type BounceRunSettings, recordRelayNotice } from '../bounces/service.ts';
import { AWS_SIGNING_CERT_URL, checkSnsSignature, parseSnsMessage, type SnsMessage } from '../bounces/sns.ts';
import { createStoreLedger } from '../bounces/store-ledger.ts';
import type { Env } from '../context.ts';
import { KurierError } from '../error.ts';
import type { Store } from '../store/store.ts';

export interface WebhookSettings {
  /** POST /webhooks/ses: the SNS topics whose messages count, and where their certificates may come from. */
  readonly ses?: { readonly topicArns: readonly string[]; readonly certUrl: RegExp };
  /** POST /webhooks/postmark: the Basic auth credentials configured in Postmark's webhook URL. */
  readonly postmark?: { readonly user: string; readonly password: string };
}

/** Postmark's webhook URL carries the password: long enough that guessing it over HTTP is hopeless. */
const MIN_PASSWORD = 16;

function envValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function parseWebhookEnv(env: Env): WebhookSettings {
  const topics = envValue(env, 'SES_SNS_TOPIC_ARN');
  const pattern = envValue(env, 'SES_SNS_CERT_URL_PATTERN');
  const user = envValue(env, 'POSTMARK_WEBHOOK_USER');
  const password = envValue(env, 'POSTMARK_WEBHOOK_PASSWORD');
  let ses: WebhookSettings['ses'];
  if (topics !== undefined) {
    const topicArns = topics.split(',').map((topic) => topic.trim());
    const bad = topicArns.find((topic) => !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(topic));
    if (bad !== undefined) {
      throw new KurierError(
        'ENV_INVALID',
        `SES_SNS_TOPIC_ARN: "${bad}" is no SNS topic ARN; give arn:aws:sns:<region>:<account>:<topic> (several separated by commas).`,
      );
    }
    let certUrl = AWS_SIGNING_CERT_URL;
    if (pattern !== undefined) {
      try {
        certUrl = new RegExp(pattern);
      } catch (error) {
        throw new KurierError(
          'ENV_INVALID',
          `SES_SNS_CERT_URL_PATTERN is no regular expression (${(error as Error).message}); leave it unset for AWS's own hosts.`,
          { cause: error },
        );
      }
    }
    ses = { topicArns, certUrl };
  } else if (pattern !== undefined) {
    throw new KurierError(
      'ENV_INVALID',
      'SES_SNS_CERT_URL_PATTERN is set but SES_SNS_TOPIC_ARN is not: name the topic whose notifications to accept.',
    );
  }
  let postmark: WebhookSettings['postmark'];
  if (user !== undefined || password !== undefined) {
    if (user === undefined || password === undefined || user.includes(':')) {
      throw new KurierError(
        'ENV_INVALID',
        'set both POSTMARK_WEBHOOK_USER (without ":") and POSTMARK_WEBHOOK_PASSWORD, and give them in the webhook URL in Postmark: https://USER:PASSWORD@host/webhooks/postmark.',
      );
    }
    if (password.length < MIN_PASSWORD) {
      throw new KurierError(
        'ENV_INVALID',
        `POSTMARK_WEBHOOK_PASSWORD is shorter than ${MIN_PASSWORD} characters; make one with: openssl rand -hex 24.`,
      );
    }
    postmark = { user, password };
  }
  return { ...(ses === undefined ? {} : { ses }), ...(postmark === undefined ? {} : { postmark }) };
}

export interface WebhookRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON for application/json, the text for text/plain (SNS's content type). */
  readonly body: unknown;
}

export interface WebhookResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: { readonly status: string; readonly message?: string };
}

export interface WebhookRoute {
  readonly path: string;
  handle(request: WebhookRequest): Promise<WebhookResponse>;
}

export interface WebhookDependencies {
  readonly store: Store;
  /** The name the records of this service's webhooks carry in the store (see `kurier status`). */
  readonly run: string;
  readonly bounce: BounceRunSettings;
  readonly now: () => Date;
  readonly log: (line: string) => void;
}

const FETCH_TIMEOUT_MS = 5_000;
const MAX_CERTIFICATE = 16 * 1024;
const CACHED_CERTIFICATES = 20;

/** A GET of an AWS URL: no redirect followed (it could lead anywhere), a bounded wait and size. */
async function sendGet(url: string): Promise<string> {
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return text;
}

/** Certificates by URL: AWS rotates them rarely, and every notification names one. A failure is not kept. */
function createCertificateCache(): (url: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (url) => {
    let pending = cache.get(url);
    if (pending === undefined) {
      pending = sendGet(url).then((pem) => {
        if (pem.length > MAX_CERTIFICATE) throw new Error(`${url} is larger than a certificate`);
        return pem;
      });
      pending.catch(() => cache.delete(url));
      if (cache.size >= CACHED_CERTIFICATES) cache.delete(cache.keys().next().value as string);
      cache.set(url, pending);
    }
    return pending;
  };
}

const refuse = (status: number, message: string): WebhookResponse => ({
  status,
  body: { status: 'refused', message },
});

function header(request: WebhookRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sesRoute(settings: NonNullable<WebhookSettings['ses']>, deps: WebhookDependencies): WebhookRoute {
  const certificate = createCertificateCache();
  const ledger = createStoreLedger(deps.store, deps.run);

  /** Verified and of a configured topic, or the answer that refuses it. */
  async function verify(message: SnsMessage): Promise<WebhookResponse | undefined> {
    if (!settings.certUrl.test(message.SigningCertURL)) {
      return refuse(403, 'the signing certificate is not at an SNS address');
    }
    // AWS signs every account's topics alike: only the topic tells ours from anyone else's. Checked first,
    // so a foreign message costs no certificate fetch; its signature is checked all the same below.
    if (!settings.topicArns.includes(message.TopicArn)) return refuse(403, 'not a configured topic');
    let pem: string;
    try {
      pem = await certificate(message.SigningCertURL);
    } catch {
      // SNS retries a 5xx: the certificate may be reachable then.
      return refuse(503, 'the signing certificate cannot be fetched');
    }
    const check = checkSnsSignature(message, pem, deps.now());
    return check.ok ? undefined : refuse(403, check.problem);
  }

  return {
    path: '/webhooks/ses',
    async handle(request) {
      const message = parseSnsMessage(request.body);
      if (message === undefined) return refuse(400, 'not an SNS message');
      const announced = header(request, 'x-amz-sns-message-type');
      if (announced !== undefined && announced !== message.Type) {
        return refuse(400, 'x-amz-sns-message-type does not match the message');
      }
      const refused = await verify(message);
      if (refused !== undefined) return refused;
      if (message.Type === 'UnsubscribeConfirmation') return { status: 200, body: { status: 'ignored' } };
      if (message.Type === 'SubscriptionConfirmation') {
        // The URL is signed with the message; it must also lead where the certificate came from (AWS).
        if (new URL(message.SubscribeURL).origin !== new URL(message.SigningCertURL).origin) {
          return refuse(403, 'the SubscribeURL is not at the SNS address of the certificate');
        }
        try {
          await sendGet(message.SubscribeURL);
        } catch {
          return refuse(502, 'the subscription could not be confirmed; SNS will send the request again');
        }
        deps.log(`SNS subscription to ${message.TopicArn} confirmed`);
        return { status: 200, body: { status: 'subscribed' } };
      }
      const decision: Decision = classifySesNotification(message.Message, deps.bounce.classify) ?? {
        kind: 'unknown',
        why: 'an SNS notification that is no SES bounce, complaint or delivery',
        originalMessageId: undefined,
        verp: undefined,
      };
      const outcome = await recordRelayNotice(
        ledger,
        { key: `sns:${message.MessageId}`, messageId: message.MessageId, decision },
        deps.bounce.softBounces,
        deps.now,
      );
      return { status: 200, body: { status: outcome.recorded ? 'recorded' : 'already-recorded' } };
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function postmarkRoute(
  settings: NonNullable<WebhookSettings['postmark']>,
  deps: WebhookDependencies,
): WebhookRoute {
  const ledger = createStoreLedger(deps.store, deps.run);
  // Compared as digests: equal length, so the comparison takes the same time whatever was sent.
  const expected = digest(`${settings.user}:${settings.password}`);
  const unauthorized: WebhookResponse = {
    status: 401,
    headers: { 'www-authenticate': 'Basic realm="kurier webhooks", charset="UTF-8"' },
    body: { status: 'unauthorized' },
  };
  return {
    path: '/webhooks/postmark',
    async handle(request) {
      const credentials = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header(request, 'authorization') ?? '')?.[1];
      if (credentials === undefined) return unauthorized;
      if (!timingSafeEqual(digest(Buffer.from(credentials, 'base64').toString('utf8')), expected)) {
        return unauthorized;
      }
      let body = request.body;
      if (typeof body === 'string') {
        try {
          body = JSON.parse(body);
        } catch {
          return refuse(400, 'the body is not JSON');
        }
      }
      const parsed = parsePostmarkPayload(body);
      if (!parsed.ok) return refuse(400, parsed.problem);
      const { payload } = parsed;
      const outcome = await recordRelayNotice(
        ledger,
        {
          key: `postmark:${payload.RecordType}:${payload.ID}`,
          // Postmark's MessageID names the message that bounced, not this notification: the key names it.
          messageId: undefined,
          decision: classifyPostmarkPayload(payload),
        },
        deps.bounce.softBounces,
        deps.now,
      );
      return { status: 200, body: { status: outcome.recorded ? 'recorded' : 'already-recorded' } };
    },
  };
}

/** The routes the settings turn on; none without them. */
export function createWebhookRoutes(settings: WebhookSettings, deps: WebhookDependencies): WebhookRoute[] {
  return [
    ...(settings.ses === undefined ? [] : [sesRoute(settings.ses, deps)]),
    ...(settings.postmark === undefined ? [] : [postmarkRoute(settings.postmark, deps)]),
  ];
}
