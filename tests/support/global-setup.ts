// Vitest's global setup: collects what the tests found missing (tests/support/requirements.ts) and prints it
// once, after the run, as a single line.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'kurier-missing-'));
  const log = path.join(dir, 'missing.tsv');
  writeFileSync(log, '');
  project.provide('missingLog', log);
  return () => {
    const hints = new Map<string, string>();
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const [name, install] = line.split('\t');
      if (name !== undefined && name !== '' && install !== undefined) hints.set(name, install);
    }
    rmSync(dir, { recursive: true, force: true });
    if (hints.size === 0) return;
    const install = [...new Set(hints.values())].join('; ');
    process.stderr.write(
      `\nSkipped the tests that need ${[...hints.keys()].join(', ')} (missing here): ${install}. CI runs them all.\n`,
    );
  };
}
