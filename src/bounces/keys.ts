// The VERP key ring from the secrets (KURIER_SECRET first, then KURIER_OLD_SECRETS): the publish side signs
// return paths with it, `kurier bounces` reads them back. Pure.

import { createHash } from 'node:crypto';
import type { VerpKey } from './verp.ts';

/**
 * A key's id comes from its secret, not its place in the ring: after a rotation, when KURIER_SECRET moves
 * to KURIER_OLD_SECRETS, a bounce of an earlier send still names the key that signed it. Two secrets of
 * one ring whose ids collide (1 in 32) keep the first; the later one is left out of the ring.
 */
export function planVerpKeys(secrets: readonly string[]): VerpKey[] {
  const keys: VerpKey[] = [];
  for (const secret of secrets) {
    const id = (createHash('sha256').update(`kurier verp key id\0${secret}`).digest()[0] ?? 0) & 31;
    if (!keys.some((key) => key.id === id)) keys.push({ id, secret });
  }
  return keys;
}
