// The links and addresses each copy carries: the VERP key ring, the envelope sender, the unsubscribe link
// (kurier server's token, or the fallback of email.unsubscribeUrl). Pure, with small tables of cases.

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planVerpKeys } from '../src/bounces/keys.ts';
import { parseVerpToken } from '../src/bounces/verp.ts';
import type { CompiledEmail } from '../src/email/model.ts';
import {
  envelopeFromOf,
  type FrozenMessage,
  type MessageKeys,
  prepareMessageMaker,
} from '../src/send/message.ts';
import { parseToken, planKeyRing } from '../src/subscribe/tokens.ts';

const SECRET = 'c4f1e8a2b9d7063e5a1f4c8b2d9e7a3f';
const OLD = '0d8e2b7f4a9c1e6b3d5f8a2c7e0b4d9f';

const MESSAGE = {
  email: { from: { name: 'Kurier', email: 'newsletter@kurier.example' } },
  bounceAddress: 'bounces@kurier.example',
  unsubscribeUrl: 'https://kurier.example/abmelden',
  subscriptionsUrl: 'https://kurier.example/newsletter/',
  list: 'newsletter.kurier.example',
} as FrozenMessage;

/** The smallest email: its footer link is the reader's unsubscribe URL. */
const COMPILED: CompiledEmail = {
  articleId: 'tag:kurier.example,2026:a',
  sourcePath: 'content/posts/a.md',
  subject: 'A',
  lang: 'de',
  html: ['<p><a href="', { field: 'unsubscribeUrl' }, '">Abmelden</a></p>'],
  text: ['Abmelden: ', { field: 'unsubscribeUrl' }],
  readerFields: ['unsubscribeUrl'],
  greeting: { named: ['Hallo ', ','], anonymous: 'Hallo,' },
  webUnsubscribeUrl: 'https://kurier.example/abmelden',
  htmlBytes: 60,
  warnings: [],
};

function keysOf(...secrets: string[]): MessageKeys {
  return { secret: secrets[0], ring: planKeyRing(secrets), verp: planVerpKeys(secrets) };
}

describe('planVerpKeys', () => {
  it('gives a secret the same key id wherever it stands in the ring, so a rotation keeps old return paths readable', () => {
    const [before] = planVerpKeys([OLD]);
    const after = planVerpKeys([SECRET, OLD]);
    expect(after.find((key) => key.secret === OLD)?.id).toBe(before?.id);
    const from = envelopeFromOf(MESSAGE, keysOf(OLD), 7, 3);
    const token = /^bounces\+([a-z2-7]+)@/.exec(from)?.[1] ?? '';
    expect(parseVerpToken(token, 'bounce', after)).toMatchObject({ sendId: 7, reader: 3 });
    expect(parseVerpToken(token, 'bounce', planVerpKeys([SECRET]))).toBeUndefined();
  });
});

describe('envelopeFromOf', () => {
  it.each([
    [
      'no bounce address: the sender',
      { ...MESSAGE, bounceAddress: undefined },
      keysOf(SECRET),
      7,
      3,
      'newsletter@kurier.example',
    ],
    [
      'no key (a rehearsal without secret): the bounce address as it is',
      MESSAGE,
      { secret: undefined, ring: undefined, verp: [] },
      7,
      3,
      'bounces@kurier.example',
    ],
    [
      'a test copy (no send): the bounce address as it is',
      MESSAGE,
      keysOf(SECRET),
      undefined,
      -1,
      'bounces@kurier.example',
    ],
  ] as const)('%s', (_, message, keys, sendId, index, expected) => {
    expect(envelopeFromOf(message as FrozenMessage, keys, sendId, index)).toBe(expected);
  });

  it('signs send and reader into bounces+<token>@domain, lowercase so a case-folding server keeps it', () => {
    const from = envelopeFromOf(MESSAGE, keysOf(SECRET), 12, 40_000);
    expect(from).toMatch(/^bounces\+[a-z2-7]+@kurier\.example$/);
    expect(from.length).toBeLessThan(64 + '@kurier.example'.length);
  });
});

describe('the unsubscribe link', () => {
  const linkOf = (message: FrozenMessage, keys: MessageKeys, subscriberId?: number): string => {
    // The link is what List-Unsubscribe carries; read it from a rendered message.
    const maker = prepareMessageMaker(
      {
        ...message,
        compiled: COMPILED,
        domain: 'kurier.example',
        listId: 'Kurier <newsletter.kurier.example>',
        unsubscribeMailto: 'mailto:abmelden@kurier.example',
        edition: 0,
        articleId: 'tag:kurier.example,2026:a',
        slug: 'a',
        title: 'A',
        version: 1,
      },
      keys,
    );
    const raw = maker
      .render(
        { email: 'anna@example.org', name: 'Anna', fields: {}, subscriberId },
        new Date('2026-11-26T08:00:00Z'),
      )
      .toString();
    return /List-Unsubscribe: <([^>]+)>/.exec(raw)?.[1] ?? '';
  };

  it('points to kurier server with a token of subscriber and list, no address, when subscriptions.url is set', () => {
    const link = linkOf(MESSAGE, keysOf(SECRET), 42);
    const token =
      /^https:\/\/kurier\.example\/newsletter\/unsubscribe\?token=([\w-]+)$/.exec(link)?.[1] ?? '';
    expect(
      parseToken(planKeyRing([SECRET]), token, {
        purpose: 'unsubscribe',
        list: MESSAGE.list ?? '',
        now: new Date(),
      }),
    ).toMatchObject({ ok: true, subscriberId: 42 });
    expect(link).not.toContain('anna');
  });

  it('falls back to email.unsubscribeUrl with the HMAC of the address without the service, or for a test copy', () => {
    const hmac = createHmac('sha256', SECRET).update('anna@example.org').digest('base64url');
    const fallback = `https://kurier.example/abmelden?token=${hmac}`;
    expect(
      linkOf(
        { ...MESSAGE, subscriptionsUrl: undefined, list: undefined } as FrozenMessage,
        keysOf(SECRET),
        42,
      ),
    ).toBe(fallback);
    expect(linkOf(MESSAGE, keysOf(SECRET), undefined)).toBe(fallback);
  });
});
