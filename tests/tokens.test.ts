import { describe, expect, it } from 'vitest';
import { createToken, parseToken, planKeyRing, type TokenCheck } from '../src/subscribe/tokens.ts';

const NOW = new Date('2026-11-26T10:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const LIST = 'newsletter.kurier.example';
const current = planKeyRing(['new secret, 32 characters long!!']);
const rotated = planKeyRing(['new secret, 32 characters long!!', 'old secret, 32 characters long!!']);
const old = planKeyRing(['old secret, 32 characters long!!']);

const confirm = createToken(current, { purpose: 'confirm', list: LIST, subscriberId: 42, issuedAt: NOW });
const unsubscribe = createToken(old, {
  purpose: 'unsubscribe',
  list: LIST,
  subscriberId: 7,
  issuedAt: new Date('2024-01-01T00:00:00Z'),
});

function flip(token: string, at: number): string {
  const bytes = Buffer.from(token, 'base64url');
  bytes[at] = (bytes[at] ?? 0) ^ 1;
  return bytes.toString('base64url');
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 28 bytes take 37⅓ characters: the last one's lowest bits carry nothing, and a decoder ignores them. */
function respell(token: string): string {
  const last = BASE64URL.indexOf(token.at(-1) ?? 'A');
  return `${token.slice(0, -1)}${BASE64URL[last ^ 1]}`;
}

describe('subscription tokens', () => {
  it('are compact base64url without the address', () => {
    expect(confirm).toMatch(/^[A-Za-z0-9_-]{38}$/);
  });

  const cases: [
    string,
    string,
    Parameters<typeof parseToken>[0],
    Parameters<typeof parseToken>[2],
    TokenCheck['ok'],
    string?,
  ][] = [
    ['a fresh confirm token', confirm, current, { purpose: 'confirm', list: LIST, now: NOW }, true],
    [
      'a confirm token on its 7th day',
      confirm,
      current,
      { purpose: 'confirm', list: LIST, now: new Date(NOW.getTime() + 7 * DAY - 1000) },
      true,
    ],
    [
      'a confirm token after 7 days',
      confirm,
      current,
      { purpose: 'confirm', list: LIST, now: new Date(NOW.getTime() + 7 * DAY + 1000) },
      false,
      'expired',
    ],
    [
      'a confirm token used to unsubscribe',
      confirm,
      current,
      { purpose: 'unsubscribe', list: LIST, now: NOW },
      false,
      'purpose',
    ],
    [
      'a token of another list',
      confirm,
      current,
      { purpose: 'confirm', list: 'newsletter.other.example', now: NOW },
      false,
      'forged',
    ],
    [
      'a changed subscriber id',
      flip(confirm, 6),
      current,
      { purpose: 'confirm', list: LIST, now: NOW },
      false,
      'forged',
    ],
    [
      'a changed signature',
      flip(confirm, 20),
      current,
      { purpose: 'confirm', list: LIST, now: NOW },
      false,
      'forged',
    ],
    [
      'a changed purpose',
      flip(confirm, 0),
      current,
      { purpose: 'confirm', list: LIST, now: NOW },
      false,
      'forged',
    ],
    [
      'a token spelt with other unused bits',
      respell(confirm),
      current,
      { purpose: 'confirm', list: LIST, now: NOW },
      false,
      'malformed',
    ],
    [
      'a truncated token',
      confirm.slice(0, 30),
      current,
      { purpose: 'confirm', list: LIST, now: NOW },
      false,
      'malformed',
    ],
    [
      'text that is not base64url',
      'abc%2F..',
      current,
      { purpose: 'confirm', list: LIST, now: NOW },
      false,
      'malformed',
    ],
    [
      'a years-old unsubscribe token after the secret changed',
      unsubscribe,
      rotated,
      { purpose: 'unsubscribe', list: LIST, now: NOW },
      true,
    ],
    [
      'an unsubscribe token whose secret was dropped',
      unsubscribe,
      current,
      { purpose: 'unsubscribe', list: LIST, now: NOW },
      false,
      'unknown-key',
    ],
  ];

  it.each(cases)('%s', (_name, token, ring, expected, ok, reason) => {
    const check = parseToken(ring, token, expected);
    expect(check.ok).toBe(ok);
    if (!check.ok) expect(check.reason).toBe(reason);
  });

  it('carry the subscriber and the time of issue', () => {
    expect(parseToken(rotated, unsubscribe, { purpose: 'unsubscribe', list: LIST, now: NOW })).toEqual({
      ok: true,
      subscriberId: 7,
      issuedAt: new Date('2024-01-01T00:00:00Z'),
    });
    const signed = createToken(rotated, {
      purpose: 'unsubscribe',
      list: LIST,
      subscriberId: 7,
      issuedAt: NOW,
    });
    // The first secret of the ring signs: the old ring alone no longer knows the key.
    expect(parseToken(old, signed, { purpose: 'unsubscribe', list: LIST, now: NOW })).toEqual({
      ok: false,
      reason: 'unknown-key',
    });
  });
});
