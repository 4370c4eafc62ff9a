// VERP return addresses: encode a send and a reader, signed; read them back; refuse forged or altered ones.

import { describe, expect, it } from 'vitest';
import { planVerpKeys } from '../src/bounces/keys.ts';
import {
  findVerpToken,
  parseVerpToken,
  planVerpAddress,
  planVerpToken,
  type VerpKey,
} from '../src/bounces/verp.ts';

const current: VerpKey = { id: 2, secret: 'new secret of the list' };
const old: VerpKey = { id: 1, secret: 'old secret of the list' };
const ring = [current, old];

describe('VERP tokens', () => {
  it.each([
    [0, 0],
    [1, 1],
    [127, 128],
    [4711, 999_999],
    [2 ** 40, 2 ** 31],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ])('send %i, reader %i round-trips within a 64-octet local part', (sendId, reader) => {
    const address = planVerpAddress('bounces@example.org', 'bounce', ring, sendId, reader);
    const local = address.slice(0, address.lastIndexOf('@'));
    expect(local.length).toBeLessThanOrEqual(64);
    expect(address).toMatch(/^bounces\+[a-z2-7]+@example\.org$/);
    const token = local.slice('bounces+'.length);
    expect(parseVerpToken(token, 'bounce', ring)).toEqual({ sendId, reader, keyId: 2 });
  });

  it('survives a receiving system that upper-cases the local part', () => {
    const token = planVerpToken(current, 'bounce', 12, 34);
    expect(parseVerpToken(token.toUpperCase(), 'bounce', ring)).toEqual({ sendId: 12, reader: 34, keyId: 2 });
  });

  it('verifies tokens of an older key of the ring, and not once that key is dropped', () => {
    const token = planVerpToken(old, 'bounce', 5, 6);
    expect(parseVerpToken(token, 'bounce', ring)).toEqual({ sendId: 5, reader: 6, keyId: 1 });
    expect(parseVerpToken(token, 'bounce', [current])).toBeUndefined();
  });

  it('keeps a key id across a rotation (drawn from the secret), and tries every key whose id collides', () => {
    const [before] = planVerpKeys(['the secret of 2026']);
    const rotated = planVerpKeys(['the secret of 2027', 'the secret of 2026']);
    expect(rotated[1]).toEqual(before);
    const token = planVerpToken(before as VerpKey, 'bounce', 9, 10);
    expect(parseVerpToken(token, 'bounce', rotated)).toMatchObject({ sendId: 9, reader: 10 });
    const twin: VerpKey = { id: (before as VerpKey).id, secret: 'another secret with that id' };
    expect(parseVerpToken(token, 'bounce', [twin, before as VerpKey])).toMatchObject({ sendId: 9 });
    expect(parseVerpToken(token, 'bounce', [twin])).toBeUndefined();
  });

  const token = planVerpToken(current, 'bounce', 4711, 42);
  const flip = (text: string, index: number) =>
    text.slice(0, index) + (text[index] === 'a' ? 'b' : 'a') + text.slice(index + 1);
  it.each([
    ['one character of the payload changed', flip(token, 2)],
    ['one character of the MAC changed', flip(token, token.length - 1)],
    ['another key id claimed', `b${token.slice(1)}`],
    ['an unknown key id', `z${token.slice(1)}`],
    ['truncated', token.slice(0, -1)],
    ['extended', `${token}a`],
    ['not base32', `${token.slice(0, -1)}1`],
    ['empty', ''],
    ['a token signed with another secret', planVerpToken({ id: 2, secret: 'guess' }, 'bounce', 4711, 42)],
  ])('refuses %s', (_case, forged) => {
    expect(parseVerpToken(forged, 'bounce', ring)).toBeUndefined();
  });

  it('refuses a token made for another purpose', () => {
    const unsubscribe = planVerpToken(current, 'unsubscribe', 4711, 42);
    expect(parseVerpToken(unsubscribe, 'unsubscribe', ring)).toEqual({ sendId: 4711, reader: 42, keyId: 2 });
    expect(parseVerpToken(unsubscribe, 'bounce', ring)).toBeUndefined();
  });

  it('refuses ids it cannot encode', () => {
    expect(() => planVerpToken({ id: 32, secret: 's' }, 'bounce', 1, 1)).toThrow(RangeError);
    expect(() => planVerpToken(current, 'bounce', -1, 1)).toThrow(RangeError);
    expect(() => planVerpToken(current, 'bounce', 1, 1.5)).toThrow(RangeError);
    expect(() => planVerpAddress('bounces@example.org', 'bounce', [], 1, 1)).toThrow(RangeError);
  });
});

describe('findVerpToken', () => {
  const valid = planVerpAddress('bounces@example.org', 'bounce', ring, 7, 8);
  const forged = planVerpAddress('bounces@example.org', 'bounce', [{ id: 2, secret: 'forger' }], 7, 9);
  it.each([
    ['in a header', `Delivered-To: ${valid}`, 'valid'],
    ['upper-cased', `X-Original-To: ${valid.toUpperCase()}`, 'valid'],
    ['forged', `To: <${forged}>`, 'invalid'],
    ['a forged one quoted before the valid one', `${forged}\nReturn-Path: <${valid}>`, 'valid'],
    ['another domain', valid.replace('example.org', 'example.net'), undefined],
    ['another local part', `x${valid}`, undefined],
    ['no token at all', 'To: bounces@example.org', undefined],
  ])('%s', (_case, text, status) => {
    expect(findVerpToken(text, 'bounces@example.org', 'bounce', ring)?.status).toBe(status);
  });

  it('returns the reference of a valid token', () => {
    const match = findVerpToken(`Return-Path: <${valid}>`, 'bounces@example.org', 'bounce', ring);
    expect(match?.status === 'valid' && match.ref).toEqual({ sendId: 7, reader: 8, keyId: 2 });
  });
});
