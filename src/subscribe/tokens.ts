// Tokens in confirmation and unsubscribe links: HMAC-signed, bound to purpose, list and subscriber id (never
// the address), checked against a key ring so links keep working across a change of secret. Pure.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type TokenPurpose = 'confirm' | 'unsubscribe';

/** A confirmation link is good for a week (then the sign-up has to be repeated); unsubscribe links never expire. */
export const CONFIRM_TOKEN_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

const VERSION = 1;
const PURPOSES: Readonly<Record<TokenPurpose, number>> = { confirm: 1, unsubscribe: 2 };
const KEY_ID_BYTES = 3;
const MAC_BYTES = 16;
// version+purpose, key id, subscriber id (uint32), issued at (uint32 seconds, good until 2106), MAC.
const BODY_BYTES = 1 + KEY_ID_BYTES + 4 + 4;
const TOKEN_BYTES = BODY_BYTES + MAC_BYTES;

export interface TokenKey {
  readonly id: Buffer;
  readonly mac: Buffer;
}

/** The secrets in order: the first signs new tokens, all of them are accepted. */
export interface KeyRing {
  readonly keys: readonly TokenKey[];
}

export function planKeyRing(secrets: readonly string[]): KeyRing {
  if (secrets.length === 0) throw new Error('a key ring needs at least one secret');
  return {
    keys: secrets.map((secret) => ({
      id: createHash('sha256').update(`kurier token key id\0${secret}`).digest().subarray(0, KEY_ID_BYTES),
      // A key of its own for tokens: the secret may sign other things too (the publish side's links).
      mac: createHmac('sha256', secret).update('kurier subscription tokens v1').digest(),
    })),
  };
}

export interface TokenClaims {
  readonly purpose: TokenPurpose;
  /** The list the token belongs to, e.g. "newsletter.kurier.example": a token of another list fails. */
  readonly list: string;
  readonly subscriberId: number;
  readonly issuedAt: Date;
}

function sign(key: TokenKey, list: string, body: Buffer): Buffer {
  return createHmac('sha256', key.mac).update(list).update('\0').update(body).digest().subarray(0, MAC_BYTES);
}

export function createToken(ring: KeyRing, claims: TokenClaims): string {
  const key = ring.keys[0];
  if (key === undefined) throw new Error('empty key ring');
  const body = Buffer.alloc(BODY_BYTES);
  body.writeUInt8((VERSION << 4) | PURPOSES[claims.purpose], 0);
  key.id.copy(body, 1);
  body.writeUInt32BE(claims.subscriberId, 1 + KEY_ID_BYTES);
  body.writeUInt32BE(Math.floor(claims.issuedAt.getTime() / 1000), 1 + KEY_ID_BYTES + 4);
  return Buffer.concat([body, sign(key, claims.list, body)]).toString('base64url');
}

export type TokenCheck =
  | { readonly ok: true; readonly subscriberId: number; readonly issuedAt: Date }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown-key' | 'forged' | 'purpose' | 'expired' };

export interface TokenExpectation {
  readonly purpose: TokenPurpose;
  readonly list: string;
  readonly now: Date;
}

export function parseToken(ring: KeyRing, token: string, expected: TokenExpectation): TokenCheck {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: 'malformed' };
  const bytes = Buffer.from(token, 'base64url');
  // Only the canonical spelling: the unused low bits of the last character must not make a second token.
  if (
    bytes.length !== TOKEN_BYTES ||
    bytes.toString('base64url') !== token ||
    bytes.readUInt8(0) >> 4 !== VERSION
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const body = bytes.subarray(0, BODY_BYTES);
  const keyId = body.subarray(1, 1 + KEY_ID_BYTES);
  const key = ring.keys.find((candidate) => candidate.id.equals(keyId));
  if (key === undefined) return { ok: false, reason: 'unknown-key' };
  if (!timingSafeEqual(sign(key, expected.list, body), bytes.subarray(BODY_BYTES))) {
    return { ok: false, reason: 'forged' };
  }
  if ((body.readUInt8(0) & 0x0f) !== PURPOSES[expected.purpose]) return { ok: false, reason: 'purpose' };
  const issuedAt = new Date(body.readUInt32BE(1 + KEY_ID_BYTES + 4) * 1000);
  if (
    expected.purpose === 'confirm' &&
    expected.now.getTime() - issuedAt.getTime() > CONFIRM_TOKEN_LIFETIME_MS
  ) {
    return { ok: false, reason: 'expired' };
  }
  return { ok: true, subscriberId: body.readUInt32BE(1 + KEY_ID_BYTES), issuedAt };
}
