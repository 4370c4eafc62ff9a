// The recipient list of one run: the list a send froze earlier (resume), or the subscriber list frozen now.

import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KurierError } from '../error.ts';
import {
  type FrozenDraft,
  freezeRecipients,
  JOURNAL_FILE,
  type ListStats,
  type Recipient,
  readRecipients,
  readSendMeta,
  type SendMeta,
} from './recipients.ts';

export interface ListSource {
  /** Freeze the subscriber list even when a send of the article began earlier (a rehearsed --new-send). */
  readonly fresh?: boolean;
  readonly subscribersFile: string;
  /** How the file is named in messages (relative to the project root). */
  readonly displayName: string;
  /** Stop at the first invalid row instead of reporting and skipping it. */
  readonly strict: boolean;
  /** A rehearsal (dry run, outbox) freezes into a scratch folder: it never fixes the list of the real send. */
  readonly rehearsal: boolean;
  /** Lowercased addresses that must not be mailed. */
  readonly suppressed: ReadonlySet<string>;
  /** Called for every invalid row (with --strict, before the run stops). */
  readonly onProblem: (line: number, problem: string) => void;
}

/** The list of this run: frozen earlier, or just frozen and not yet made the send's list. */
export type OpenList =
  | { readonly kind: 'frozen'; readonly dir: string; readonly meta: SendMeta }
  | {
      readonly kind: 'fresh';
      /** The send's folder, or the rehearsal's scratch folder. */
      readonly dir: string;
      readonly total: number;
      readonly stats: ListStats;
      readonly first: Recipient | undefined;
      /** Makes the freeze the list of the send (after every check passed). */
      readonly commit: FrozenDraft['commit'];
      /** Drops the freeze (and a rehearsal's scratch folder). */
      readonly abort: () => Promise<void>;
    };

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The list of the send: the frozen one when the send has begun, else the subscriber list frozen now. */
export async function openList(sendDir: string, source: ListSource): Promise<OpenList> {
  const meta = source.fresh === true ? undefined : await readSendMeta(sendDir);
  if (meta !== undefined) return { kind: 'frozen', dir: sendDir, meta };
  const journalFile = path.join(sendDir, JOURNAL_FILE);
  if (!source.rehearsal && (await exists(journalFile))) {
    throw new KurierError(
      'JOURNAL_INVALID',
      `the send journal exists but the description of its send (send.json) is missing; restore it, or move ${sendDir} away to start this send from scratch (everyone would get the email again).`,
      { file: journalFile },
    );
  }
  if (!source.rehearsal) {
    // A freeze cut short by a crash left its temp file behind; we hold the lock, so nobody else writes here.
    const names = await readdir(sendDir).catch(() => []);
    await Promise.all(
      names.filter((name) => name.endsWith('.tmp')).map((name) => rm(path.join(sendDir, name))),
    );
  }
  const scratch = source.rehearsal ? await mkdtemp(path.join(tmpdir(), 'kurier-rehearsal-')) : undefined;
  const dir = scratch ?? sendDir;
  const dropScratch = async (): Promise<void> => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  };
  let invalid = 0;
  let firstInvalidLine: number | undefined;
  let draft: FrozenDraft;
  try {
    draft = await freezeRecipients(dir, {
      subscribersFile: source.subscribersFile,
      displayName: source.displayName,
      suppressed: source.suppressed,
      onProblem: (problem) => {
        invalid += 1;
        firstInvalidLine ??= problem.line;
        source.onProblem(problem.line, problem.problem);
      },
    });
  } catch (error) {
    await dropScratch();
    throw error;
  }
  const abort = async (): Promise<void> => {
    await draft.abort();
    await dropScratch();
  };
  if (source.strict && invalid > 0) {
    await abort();
    throw new KurierError(
      'SUBSCRIBER_INVALID',
      `${invalid} row(s) of the subscriber list are invalid (listed above); fix them, or run without --strict to skip them.`,
      { file: source.displayName, line: firstInvalidLine },
    );
  }
  return {
    kind: 'fresh',
    dir,
    total: draft.total,
    stats: draft.stats,
    first: draft.first,
    commit: (meta) => draft.commit(meta),
    abort,
  };
}

/** The first recipient of a frozen list, to render one copy as a check. */
export async function firstRecipient(dir: string): Promise<Recipient | undefined> {
  for await (const { recipient } of readRecipients(dir)) return recipient;
  return undefined;
}
