// The bounce fixtures of tests/fixtures/bounces: messages in the formats of several MTAs, written for Kurier,
// each with the verdict the classifier must reach (manifest.json).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClassifySettings } from '../../src/bounces/classify.ts';

export const bounceFixtureDir = path.resolve(import.meta.dirname, '../fixtures/bounces');

export interface ExpectedRecipient {
  readonly address: string;
  readonly severity?: 'hard' | 'soft' | 'refused';
  readonly status?: string;
}

export interface BounceFixture {
  readonly file: string;
  /** hard, soft, refused (a bounce, by its worst recipient), complaint, unsubscribe, auto-reply, not-bounce, unknown. */
  readonly verdict: string;
  readonly recipients?: readonly ExpectedRecipient[];
  /** The reader the VERP token names. */
  readonly reader?: number;
  readonly messageId?: string;
  readonly note?: string;
}

export interface BounceManifest {
  readonly settings: ClassifySettings & { readonly sendId: number };
  readonly messages: readonly BounceFixture[];
}

export function readBounceManifest(): BounceManifest {
  return JSON.parse(readFileSync(path.join(bounceFixtureDir, 'manifest.json'), 'utf8')) as BounceManifest;
}

/** IMAP and SMTP want CRLF line ends; the fixtures are kept with LF to read well in a diff. */
export function readBounceFixture(file: string): Buffer {
  return Buffer.from(readFileSync(path.join(bounceFixtureDir, file), 'utf8').replace(/\r?\n/g, '\r\n'));
}
