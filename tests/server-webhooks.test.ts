// The relays' bounce webhooks of `kurier server` over real HTTP on 127.0.0.1, on a real store: SES
// notifications through SNS, signed with a throwaway key whose self-signed certificate a loopback HTTP
// server hands out as AWS's would be; Postmark's bounce and spam-complaint webhooks with HTTP Basic auth.

import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { planVerpKeys } from '../src/bounces/keys.ts';
import { AWS_SIGNING_CERT_URL } from '../src/bounces/sns.ts';
import { planVerpAddress } from '../src/bounces/verp.ts';
import { parseWebhookEnv } from '../src/server/webhooks.ts';
import type { Store } from '../src/store/store.ts';
import { errorOf } from './support/errors.ts';
import { makeProject } from './support/project.ts';
import { lacks } from './support/requirements.ts';
import { type RunningServer, startServer } from './support/server.ts';
import { BACKENDS, makeStoreFixture, type StoreFixture } from './support/store.ts';

const SECRET = 'the secret of the webhook test list';
const BOUNCES = 'bounces@kurier.example';
const TOPIC = 'arn:aws:sns:eu-central-1:123456789012:kurier-bounces';
const OTHER_TOPIC = 'arn:aws:sns:eu-central-1:210987654321:someone-else';
const POSTMARK = { user: 'postmark', password: 'a webhook password long enough' };
const T0 = new Date('2026-11-26T10:00:00Z');

describe('the webhook settings', () => {
  it('turn nothing on when unset, and accept only AWS certificate URLs by default', () => {
    expect(parseWebhookEnv({})).toEqual({});
    const { ses } = parseWebhookEnv({ SES_SNS_TOPIC_ARN: `${TOPIC}, ${OTHER_TOPIC}` });
    expect(ses?.topicArns).toEqual([TOPIC, OTHER_TOPIC]);
    expect(ses?.certUrl).toBe(AWS_SIGNING_CERT_URL);
    const allowed = (url: string) => AWS_SIGNING_CERT_URL.test(url);
    expect(allowed('https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-9c6465fa.pem')).toBe(
      true,
    );
    expect(allowed('https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem')).toBe(true);
    expect(allowed('http://sns.eu-central-1.amazonaws.com/SimpleNotificationService-1.pem')).toBe(false);
    expect(allowed('https://sns.eu-central-1.amazonaws.com.evil.example/x.pem')).toBe(false);
    expect(allowed('https://sns.eu-central-1.amazonaws.com@evil.example/x.pem')).toBe(false);
    expect(allowed('https://evil.example/sns.eu-central-1.amazonaws.com/x.pem')).toBe(false);
    expect(allowed('https://s3.amazonaws.com/x.pem')).toBe(false);
  });

  it('refuse what would leave an endpoint open or broken', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ SES_SNS_TOPIC_ARN: 'kurier-bounces' }, /SES_SNS_TOPIC_ARN: "kurier-bounces" is no SNS topic ARN/],
      [{ SES_SNS_TOPIC_ARN: TOPIC, SES_SNS_CERT_URL_PATTERN: '(' }, /SES_SNS_CERT_URL_PATTERN is no regular/],
      [{ SES_SNS_CERT_URL_PATTERN: '^http://' }, /SES_SNS_TOPIC_ARN is not/],
      [{ POSTMARK_WEBHOOK_USER: 'postmark' }, /set both POSTMARK_WEBHOOK_USER/],
      [{ POSTMARK_WEBHOOK_USER: 'a:b', POSTMARK_WEBHOOK_PASSWORD: POSTMARK.password }, /without ":"/],
      [{ POSTMARK_WEBHOOK_USER: 'postmark', POSTMARK_WEBHOOK_PASSWORD: 'short' }, /shorter than 16/],
    ];
    for (const [env, message] of cases) {
      const error = errorOf(() => parseWebhookEnv(env));
      expect(error.code).toBe('ENV_INVALID');
      expect(error.message).toMatch(message);
    }
  });
});

interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

/** A throwaway RSA key and its self-signed certificate, as SNS signs with (openssl, as an operator would). */
async function makeKeyPair(dir: string, name: string): Promise<KeyPair> {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'ignore' },
  );
  return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
}

/**
 * Signed as the AWS documentation describes it, written out here rather than taken from the code under
 * test: "Name\nValue\n" for each field in this order, Subject only when present.
 */
function signSns(fields: Record<string, string>, key: string, version: '1' | '2'): Record<string, string> {
  const order =
    fields.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = order
    .filter((name) => fields[name] !== undefined)
    .map((name) => `${name}\n${fields[name]}\n`)
    .join('');
  const signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256')
    .update(text)
    .sign(key, 'base64');
  return { ...fields, SignatureVersion: version, Signature: signature };
}

/** What AWS hands out: the signing certificate, and the confirmation of a subscription. */
interface FakeAws {
  readonly origin: string;
  readonly certUrl: string;
  readonly certRequests: string[];
  readonly confirmations: string[];
  close(): Promise<void>;
}

async function startAws(cert: string): Promise<FakeAws> {
  const certRequests: string[] = [];
  const confirmations: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = request.url ?? '';
    if (url.startsWith('/SimpleNotificationService-')) {
      certRequests.push(url);
      response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(cert);
    } else if (url.startsWith('/?Action=ConfirmSubscription')) {
      confirmations.push(url);
      response.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    certUrl: `${origin}/SimpleNotificationService-0123456789abcdef.pem`,
    certRequests,
    confirmations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(lacks('openssl'))('relay webhooks', () => {
  let keyDir: string;
  let aws: KeyPair;
  let forger: KeyPair;

  beforeAll(async () => {
    keyDir = await mkdtemp(path.join(tmpdir(), 'kurier-sns-keys-'));
    aws = await makeKeyPair(keyDir, 'aws');
    forger = await makeKeyPair(keyDir, 'forger');
  });

  afterAll(async () => {
    await rm(keyDir, { recursive: true, force: true });
  });

  for (const backend of BACKENDS) {
    describe.skipIf(backend.name === 'postgres' && lacks('postgres'))(`on the ${backend.name} store`, () => {
      let fixture: StoreFixture;
      let root: string;
      let fakeAws: FakeAws;
      let server: RunningServer;
      let sendId: number;
      let indexes: Map<string, number>;
      const readers = ['anna', 'bert', 'cora', 'dora', 'emil', 'fritz'].map((name) => `${name}@example.org`);

      beforeEach(async () => {
        fixture = await makeStoreFixture(backend);
        root = await makeProject({ bounceAddress: BOUNCES });
        const store = await fixture.open(T0);
        for (const address of readers) await store.add({ address, name: '', fields: {} }, 'test', T0);
        ({
          send: { id: sendId },
        } = await store.createSend({ articleId: 'tag:kurier.example,2026:hooks', email: {}, frozenAt: T0 }));
        indexes = new Map((await store.readRecipients(sendId, 0, 10)).map((r) => [r.email, r.index]));
        await store.close();
        fakeAws = await startAws(aws.cert);
        server = await startServer(root, {
          KURIER_SECRET: SECRET,
          KURIER_STATE_DIR: fixture.stateDir,
          ...(fixture.databaseUrl === undefined ? {} : { DATABASE_URL: fixture.databaseUrl }),
          SES_SNS_TOPIC_ARN: TOPIC,
          // Production accepts only https on sns.<region>.amazonaws.com; this test's AWS is on loopback.
          SES_SNS_CERT_URL_PATTERN: `^${fakeAws.origin.replace(/\./g, '\\.')}/SimpleNotificationService-[0-9a-f]+\\.pem$`,
          POSTMARK_WEBHOOK_USER: POSTMARK.user,
          POSTMARK_WEBHOOK_PASSWORD: POSTMARK.password,
        });
      });

      afterEach(async () => {
        expect(await server.stop()).toBe(0);
        await fakeAws.close();
        await fixture.cleanup();
        await rm(root, { recursive: true, force: true });
      });

      async function withStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
        const store = await fixture.open(T0);
        try {
          return await use(store);
        } finally {
          await store.close();
        }
      }

      async function statuses(): Promise<Record<string, string | undefined>> {
        return withStore(async (store) => {
          const result: Record<string, string | undefined> = {};
          for (const address of readers) result[address] = (await store.findSubscriber(address))?.status;
          return result;
        });
      }

      function returnPath(address: string): string {
        return planVerpAddress(BOUNCES, 'bounce', planVerpKeys([SECRET]), sendId, indexes.get(address) ?? -1);
      }

      function bounce(address: string, bounceType: 'Permanent' | 'Transient', source: string): string {
        return JSON.stringify({
          notificationType: 'Bounce',
          bounce: {
            bounceType,
            bounceSubType: bounceType === 'Permanent' ? 'General' : 'MailboxFull',
            bouncedRecipients: [
              {
                emailAddress: address,
                action: bounceType === 'Permanent' ? 'failed' : 'delayed',
                status: bounceType === 'Permanent' ? '5.1.1' : '4.2.2',
                diagnosticCode:
                  bounceType === 'Permanent'
                    ? 'smtp; 550 5.1.1 user unknown'
                    : 'smtp; 452 4.2.2 mailbox full',
              },
            ],
            timestamp: '2026-11-26T10:05:00.000Z',
            feedbackId: '0102017f-feedback',
          },
          mail: {
            timestamp: '2026-11-26T10:00:00.000Z',
            source,
            messageId: '0102017f-ses-message',
            destination: [address],
          },
        });
      }

      function complaint(address: string, source: string): string {
        return JSON.stringify({
          notificationType: 'Complaint',
          complaint: {
            complainedRecipients: [{ emailAddress: address }],
            complaintFeedbackType: 'abuse',
            timestamp: '2026-11-26T11:00:00.000Z',
            feedbackId: '0102017f-complaint',
          },
          mail: { timestamp: '2026-11-26T10:00:00.000Z', source, messageId: '0102017f-other' },
        });
      }

      function notification(
        message: string,
        id: string,
        options: { topic?: string; key?: string; version?: '1' | '2'; certUrl?: string } = {},
      ): Record<string, string> {
        return signSns(
          {
            Type: 'Notification',
            MessageId: id,
            TopicArn: options.topic ?? TOPIC,
            Message: message,
            Timestamp: '2026-11-26T10:05:01.000Z',
            SigningCertURL: options.certUrl ?? fakeAws.certUrl,
          },
          options.key ?? aws.key,
          options.version ?? '2',
        );
      }

      async function postSns(body: Record<string, string>): Promise<{ status: number; json: unknown }> {
        // As SNS posts: JSON labelled text/plain, the type in a header.
        const response = await fetch(`${server.url}/webhooks/ses`, {
          method: 'POST',
          headers: {
            'content-type': 'text/plain; charset=UTF-8',
            'x-amz-sns-message-type': body.Type ?? '',
            'x-amz-sns-message-id': body.MessageId ?? '',
          },
          body: JSON.stringify(body),
        });
        return { status: response.status, json: await response.json() };
      }

      it('records SES bounces and complaints signed by SNS (versions 1 and 2), each once', async () => {
        // The VERP return path names anna although the report gives an alias of hers.
        const hard = notification(
          bounce('anna.alias@example.org', 'Permanent', returnPath('anna@example.org')),
          'sns-1',
          {
            version: '1',
          },
        );
        expect(await postSns(hard)).toEqual({ status: 200, json: { status: 'recorded' } });
        expect(
          await postSns(notification(complaint('bert@example.org', returnPath('bert@example.org')), 'sns-2')),
        ).toEqual({
          status: 200,
          json: { status: 'recorded' },
        });
        // A retry of the same message (SNS redelivers until it gets a 2xx) changes nothing.
        expect(await postSns(hard)).toEqual({ status: 200, json: { status: 'already-recorded' } });
        // Soft bounces: three within 30 days make a reader bounced; one replayed three times is one.
        const soft = notification(
          bounce('cora@example.org', 'Transient', returnPath('cora@example.org')),
          'sns-3',
        );
        for (let time = 0; time < 3; time++) await postSns(soft);
        expect(await statuses()).toMatchObject({
          'anna@example.org': 'bounced',
          'bert@example.org': 'complained',
          'cora@example.org': 'active',
        });
        for (const id of ['sns-4', 'sns-5']) {
          await postSns(
            notification(bounce('cora@example.org', 'Transient', returnPath('cora@example.org')), id),
          );
        }
        expect((await statuses())['cora@example.org']).toBe('bounced');
        // The certificate was fetched once for all of them.
        expect(fakeAws.certRequests).toHaveLength(1);
        await withStore(async (store) => {
          expect(await store.findBounceMessage('sns:sns-1')).toBeDefined();
          // Per send, by the readers the return paths name: cora counts among the soft-bounced.
          const [counts] = await store.countBouncesPerSend();
          expect(counts).toMatchObject({ bounced: 1, complained: 1, softBounced: 1 });
        });
      });

      it('refuses forged, altered and foreign messages and changes nothing', async () => {
        const before = await statuses();
        const forged = notification(bounce('dora@example.org', 'Permanent', BOUNCES), 'sns-f1', {
          key: forger.key,
        });
        expect(await postSns(forged)).toMatchObject({
          status: 403,
          json: { message: 'the signature does not match the message' },
        });
        const altered = {
          ...notification(bounce('dora@example.org', 'Transient', BOUNCES), 'sns-f2'),
          Message: bounce('dora@example.org', 'Permanent', BOUNCES),
        };
        expect((await postSns(altered)).status).toBe(403);
        // Signed by the forger and served from a host of their own: never fetched.
        const elsewhere = notification(bounce('dora@example.org', 'Permanent', BOUNCES), 'sns-f3', {
          key: forger.key,
          certUrl: `${fakeAws.origin.replace('127.0.0.1', 'localhost')}/SimpleNotificationService-1.pem`,
        });
        expect(await postSns(elsewhere)).toMatchObject({
          status: 403,
          json: { message: 'the signing certificate is not at an SNS address' },
        });
        // Signed by SNS, but for another account's topic.
        const foreign = notification(bounce('dora@example.org', 'Permanent', BOUNCES), 'sns-f4', {
          topic: OTHER_TOPIC,
        });
        expect(await postSns(foreign)).toMatchObject({
          status: 403,
          json: { message: 'not a configured topic' },
        });
        // A return path whose token does not verify: recorded for a person, nobody suppressed.
        const token = returnPath('dora@example.org');
        const badToken = `${token.slice(0, 12)}${token[12] === 'a' ? 'b' : 'a'}${token.slice(13)}`;
        expect(
          await postSns(notification(bounce('dora@example.org', 'Permanent', badToken), 'sns-f5')),
        ).toEqual({
          status: 200,
          json: { status: 'recorded' },
        });
        expect((await postSns({ Type: 'Notification', Message: '{}' })).status).toBe(400);
        expect(await statuses()).toEqual(before);
        expect(fakeAws.certRequests.every((url) => url.includes('0123456789abcdef'))).toBe(true);
        await withStore(async (store) => {
          for (const id of ['sns-f1', 'sns-f2', 'sns-f3', 'sns-f4'])
            expect(await store.findBounceMessage(`sns:${id}`), id).toBeUndefined();
          expect(await store.findBounceMessage('sns:sns-f5')).toMatchObject({ folder: 'unclassified' });
        });
      });

      it('confirms a subscription to the configured topic only', async () => {
        const confirmation = (topic: string, subscribeOrigin: string) =>
          signSns(
            {
              Type: 'SubscriptionConfirmation',
              MessageId: `sub-${topic.length}-${subscribeOrigin.length}`,
              Token: 'token-2336412f37',
              TopicArn: topic,
              Message: `You have chosen to subscribe to the topic ${topic}.`,
              SubscribeURL: `${subscribeOrigin}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topic)}&Token=token-2336412f37`,
              Timestamp: '2026-11-26T09:00:00.000Z',
              SigningCertURL: fakeAws.certUrl,
            },
            aws.key,
            '1',
          );
        expect((await postSns(confirmation(OTHER_TOPIC, fakeAws.origin))).status).toBe(403);
        const otherHost = fakeAws.origin.replace('127.0.0.1', 'localhost');
        expect((await postSns(confirmation(TOPIC, otherHost))).status).toBe(403);
        expect(fakeAws.confirmations).toEqual([]);
        expect(await postSns(confirmation(TOPIC, fakeAws.origin))).toEqual({
          status: 200,
          json: { status: 'subscribed' },
        });
        expect(fakeAws.confirmations).toHaveLength(1);
        expect(fakeAws.confirmations[0]).toContain(encodeURIComponent(TOPIC));
        expect(server.lines).toContain(`SNS subscription to ${TOPIC} confirmed`);
      });

      async function postPostmark(body: unknown, credentials = `${POSTMARK.user}:${POSTMARK.password}`) {
        const response = await fetch(`${server.url}/webhooks/postmark`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
          },
          body: JSON.stringify(body),
        });
        return { status: response.status, headers: response.headers, json: await response.json() };
      }

      const postmarkBounce = {
        RecordType: 'Bounce',
        MessageStream: 'broadcast',
        ID: 4323372036,
        Type: 'HardBounce',
        TypeCode: 1,
        Name: 'Hard bounce',
        MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
        ServerID: 23,
        Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
        Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.',
        Email: 'dora@example.org',
        From: 'newsletter@kurier.example',
        BouncedAt: '2026-11-26T10:03:54.9070259Z',
        Inactive: true,
        CanActivate: true,
        Subject: 'Kurier: Neues aus Bochum',
      };
      const postmarkComplaint = {
        ...postmarkBounce,
        RecordType: 'SpamComplaint',
        ID: 4323372037,
        Type: 'SpamComplaint',
        TypeCode: 512,
        Name: 'Spam complaint',
        Email: 'emil@example.org',
      };

      it('records Postmark bounces and spam complaints behind HTTP Basic auth, each once', async () => {
        const before = await statuses();
        for (const credentials of [`${POSTMARK.user}:wrong password, long enough`, 'postmark', '']) {
          const refused = await postPostmark(postmarkBounce, credentials);
          expect(refused.status, credentials).toBe(401);
          expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
        }
        const bare = await fetch(`${server.url}/webhooks/postmark`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(postmarkBounce),
        });
        expect(bare.status).toBe(401);
        expect(await statuses()).toEqual(before);

        expect(await postPostmark(postmarkBounce)).toMatchObject({
          status: 200,
          json: { status: 'recorded' },
        });
        expect(await postPostmark(postmarkComplaint)).toMatchObject({
          status: 200,
          json: { status: 'recorded' },
        });
        expect(await postPostmark(postmarkBounce)).toMatchObject({
          status: 200,
          json: { status: 'already-recorded' },
        });
        const { Email: _email, ...withoutAddress } = postmarkBounce;
        expect(await postPostmark({ ...withoutAddress, ID: 1 })).toMatchObject({
          status: 400,
          json: { message: expect.stringMatching(/^Email: /) },
        });
        expect(await statuses()).toEqual({
          ...before,
          'dora@example.org': 'bounced',
          'emil@example.org': 'complained',
        });
        await withStore(async (store) => {
          expect(await store.findBounceMessage('postmark:Bounce:4323372036')).toMatchObject({
            folder: 'handled',
          });
          expect(await store.findBounceMessage('postmark:Bounce:1')).toBeUndefined();
        });
      });
    });
  }
});
