// The return address of each newsletter copy (VERP): `bounces+<token>@domain` names the send and the reader,
// signed, so a bounce that arrives later says whom it is about even when its text does not.

import { createHmac, timingSafeEqual } from 'node:crypto';

/** One signing key; the first of a ring signs, every one verifies, so a rotation keeps old bounces readable. */
export interface VerpKey {
  /** 0–31: stored as the token's first base32 character. */
  readonly id: number;
  readonly secret: string;
}

/**
 * What the address is for, signed with the rest: a token from a return path (which the reader's provider
 * sees) cannot be replayed as an unsubscribe token, nor the other way round.
 */
export type VerpPurpose = 'bounce' | 'unsubscribe';

export interface VerpRef {
  readonly sendId: number;
  /** The subscriber id, or the recipient's index in the send. */
  readonly reader: number;
  readonly keyId: number;
}

/**
 * Lowercase base32 (RFC 4648 alphabet, lowercased): receiving systems may case-fold the local part
 * (RFC 5321 §2.4 lets them), and base64url would then lose bits; base32 survives it.
 */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 80 bits: forging needs about 2^79 guesses, each a mail to us; the local part stays under 64 octets. */
const MAC_BYTES = 10;
const DOMAIN_SEPARATION = 'kurier-verp-v1\0';

function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

function decodeBase32(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    const value = ALPHABET.indexOf(char);
    if (value === -1) return undefined;
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 255);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  // Leftover bits must be zero padding, so each byte string has exactly one spelling.
  if (buffer !== 0 || bits >= 5) return undefined;
  return Uint8Array.from(out);
}

function writeVarint(value: number, out: number[]): void {
  let rest = value;
  while (rest >= 128) {
    out.push((rest % 128) | 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

function readVarint(bytes: Uint8Array, start: number): [value: number, next: number] | undefined {
  let value = 0;
  let scale = 1;
  for (let index = start; index < bytes.length && index < start + 8; index++) {
    const byte = bytes[index] as number;
    value += (byte & 127) * scale;
    if (byte < 128) {
      // A trailing zero group would give a second spelling of the same number.
      if (byte === 0 && index > start) return undefined;
      return [value, index + 1];
    }
    scale *= 128;
  }
  return undefined;
}

function mac(key: VerpKey, purpose: VerpPurpose, payload: Uint8Array): Buffer {
  return createHmac('sha256', key.secret)
    .update(`${DOMAIN_SEPARATION}${purpose}\0`)
    .update(Uint8Array.of(key.id))
    .update(payload)
    .digest()
    .subarray(0, MAC_BYTES);
}

function checkId(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`VERP ${name} must be an integer from 0 to ${max}, got ${value}`);
  }
}

/** The token alone (key id, send, reader, truncated HMAC), lowercase base32. */
export function planVerpToken(key: VerpKey, purpose: VerpPurpose, sendId: number, reader: number): string {
  checkId('key id', key.id, 31);
  checkId('send id', sendId, Number.MAX_SAFE_INTEGER);
  checkId('reader', reader, Number.MAX_SAFE_INTEGER);
  const payload: number[] = [];
  writeVarint(sendId, payload);
  writeVarint(reader, payload);
  const bytes = Uint8Array.from(payload);
  return ALPHABET[key.id] + encodeBase32(Buffer.concat([bytes, mac(key, purpose, bytes)]));
}

/** `bounces@example.org` → `bounces+<token>@example.org`, signed with the first key of the ring. */
export function planVerpAddress(
  address: string,
  purpose: VerpPurpose,
  keys: readonly VerpKey[],
  sendId: number,
  reader: number,
): string {
  const key = keys[0];
  if (key === undefined) throw new RangeError('VERP needs at least one key');
  const at = address.lastIndexOf('@');
  if (at <= 0) throw new RangeError(`not an address: ${address}`);
  return `${address.slice(0, at)}+${planVerpToken(key, purpose, sendId, reader)}${address.slice(at)}`;
}

/** The reference a token carries when one key of the ring signed it; a forged or altered token gives undefined. */
export function parseVerpToken(
  token: string,
  purpose: VerpPurpose,
  keys: readonly VerpKey[],
): VerpRef | undefined {
  const lower = token.toLowerCase();
  const keyId = ALPHABET.indexOf(lower.charAt(0));
  if (keyId === -1) return undefined;
  const bytes = decodeBase32(lower.slice(1));
  if (bytes === undefined || bytes.length <= MAC_BYTES) return undefined;
  const payload = bytes.subarray(0, bytes.length - MAC_BYTES);
  const sendId = readVarint(payload, 0);
  const reader = sendId && readVarint(payload, sendId[1]);
  if (sendId === undefined || reader === undefined || reader[1] !== payload.length) return undefined;
  // Ids drawn from the secrets (src/bounces/keys.ts) may collide within a ring: every key with the id is tried.
  for (const key of keys) {
    if (key.id !== keyId) continue;
    const expected = mac(key, purpose, payload);
    if (timingSafeEqual(expected, bytes.subarray(bytes.length - MAC_BYTES)))
      return { sendId: sendId[0], reader: reader[0], keyId };
  }
  return undefined;
}

export type VerpMatch =
  | { readonly status: 'valid'; readonly token: string; readonly ref: VerpRef }
  | { readonly status: 'invalid'; readonly token: string };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Finds `bounces+<token>@domain` anywhere in a text (a header, the returned original, a quoted reply).
 * A valid token wins over any invalid ones: a bounce may quote addresses a forger wrote into the body.
 */
export function findVerpToken(
  text: string,
  address: string,
  purpose: VerpPurpose,
  keys: readonly VerpKey[],
): VerpMatch | undefined {
  const at = address.lastIndexOf('@');
  const local = escapeRegExp(address.slice(0, at));
  const domain = escapeRegExp(address.slice(at + 1));
  const pattern = new RegExp(`(?<![\\w.+-])${local}\\+([a-z0-9]{2,60})@${domain}(?![\\w-])`, 'gi');
  let invalid: VerpMatch | undefined;
  for (const match of text.matchAll(pattern)) {
    const token = (match[1] as string).toLowerCase();
    const ref = parseVerpToken(token, purpose, keys);
    if (ref !== undefined) return { status: 'valid', token, ref };
    invalid ??= { status: 'invalid', token };
  }
  return invalid;
}
