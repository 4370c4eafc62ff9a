// What a test needs beyond npm packages (the ../shared folder, system programs, servers): checked once, so
// that a fresh clone skips those tests with one notice at the end, and CI (KURIER_TEST_ALL=1) fails instead.

import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = path.resolve(projectRoot, '../shared');

function onPath(program: string): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir !== '' && existsSync(path.join(dir, program)));
}

interface Requirement {
  readonly present: () => boolean;
  /** How to get it, for the notice. */
  readonly install: string;
  /** Left out by `npm run test:fast` (KURIER_TEST_FAST=1): a browser, a JVM or a server to start. */
  readonly slow?: boolean;
}

const REQUIREMENTS = {
  seed: {
    present: () => existsSync(path.join(shared, 'seed/article.txt')),
    install: 'clone with ../shared beside the project',
  },
  schemas: {
    present: () => existsSync(path.join(shared, 'schemas/atom.rnc')),
    install: 'clone with ../shared beside the project',
  },
  bounceCorpus: {
    present: () => existsSync(path.join(shared, 'bounce-corpus/sisimai-verdicts.jsonl')),
    install: 'clone with ../shared beside the project',
  },
  jing: { present: () => onPath('jing'), install: 'apt-get install jing', slow: true },
  xmllint: { present: () => onPath('xmllint'), install: 'apt-get install libxml2-utils' },
  feedparser: {
    present: () => spawnSync('/usr/bin/python3', ['-c', 'import feedparser']).status === 0,
    install: 'apt-get install python3-feedparser',
  },
  chromium: {
    slow: true,
    present: () => existsSync('/usr/bin/chromium'),
    install: 'apt-get install chromium fonts-dejavu-core',
  },
  postgres: {
    slow: true,
    present: () => (process.env.KURIER_TEST_DATABASE_URL ?? '') !== '',
    install: 'apt-get install postgresql, start a server and set KURIER_TEST_DATABASE_URL (see .ci/run)',
  },
  openssl: { present: () => onPath('openssl'), install: 'apt-get install openssl' },
  dovecot: {
    slow: true,
    present: () => existsSync('/usr/sbin/dovecot'),
    install: 'apt-get install dovecot-imapd',
  },
} satisfies Record<string, Requirement>;

export type RequirementName = keyof typeof REQUIREMENTS;

const known = new Map<RequirementName, boolean>();

const fast = process.env.KURIER_TEST_FAST === '1';

function isPresent(name: RequirementName): boolean {
  const requirement: Requirement = REQUIREMENTS[name];
  if (fast && requirement.slow === true) return false;
  let present = known.get(name);
  if (present === undefined) {
    present = requirement.present();
    known.set(name, present);
  }
  return present;
}

/**
 * True when one of `names` is missing, for `describe.skipIf(lacks('jing'))`. The missing ones are noted for
 * the summary line; under KURIER_TEST_ALL=1 (CI, which installs everything) a missing one is an error.
 */
export function lacks(...names: RequirementName[]): boolean {
  const missing = names.filter((name) => !isPresent(name));
  if (missing.length === 0) return false;
  if (fast) return true;
  if (process.env.KURIER_TEST_ALL === '1') {
    throw new Error(
      `KURIER_TEST_ALL=1 but this test needs ${missing.map((name) => `${name} (${REQUIREMENTS[name].install})`).join(', ')}`,
    );
  }
  appendFileSync(
    inject('missingLog'),
    `${missing.map((name) => `${name}\t${REQUIREMENTS[name].install}`).join('\n')}\n`,
  );
  return true;
}

export function installHint(name: RequirementName): string {
  return REQUIREMENTS[name].install;
}

declare module 'vitest' {
  export interface ProvidedContext {
    missingLog: string;
  }
}
