// Progress of a send for people: a bar with count, rate and ETA on a terminal, a plain line now and then elsewhere.

import type { Io } from '../context.ts';

export interface Progress {
  /** Recipients this run has finished with (sent, rejected, deferred for good, skipped). */
  readonly done: number;
  readonly total: number;
  readonly sent: number;
  readonly failed: number;
  readonly elapsedMs: number;
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  return h > 0 ? `${h}:${mm}:${String(s).padStart(2, '0')}` : `${mm}:${String(s).padStart(2, '0')}`;
}

const number = new Intl.NumberFormat('en-US');

/** Pure: "[#######.......]  4,210/10,000  42%  812/s  ETA 0:07". */
export function renderProgress(progress: Progress, width = 24): string {
  const ratio = progress.total === 0 ? 1 : Math.min(1, progress.done / progress.total);
  const filled = Math.round(ratio * width);
  const rate = progress.elapsedMs > 0 ? (progress.done * 1000) / progress.elapsedMs : 0;
  const eta = rate > 0 ? formatDuration(((progress.total - progress.done) / rate) * 1000) : '?';
  const failed = progress.failed > 0 ? `  ${number.format(progress.failed)} failed` : '';
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]  ${number.format(progress.done)}/${number.format(progress.total)}` +
    `  ${Math.floor(ratio * 100)}%  ${Math.round(rate)}/s  ETA ${eta}${failed}`
  );
}

/**
 * Throttles progress output: the status line at most ten times a second on a terminal, and a plain line
 * at each further tenth of the way (and at least every 30 s) when the output goes to a log.
 */
export function createProgressReporter(io: Io, now: () => number): (progress: Progress) => void {
  let lastStatus = Number.NEGATIVE_INFINITY;
  let lastLine = now();
  let lastTenth = 0;
  return (progress) => {
    const at = now();
    if (io.isTTY) {
      if (at - lastStatus >= 100 || progress.done === progress.total) {
        lastStatus = at;
        io.status(renderProgress(progress));
      }
      return;
    }
    const tenth = progress.total === 0 ? 10 : Math.floor((progress.done * 10) / progress.total);
    // A send that is over within a second needs no progress lines: the summary follows at once.
    if (progress.done === progress.total || progress.elapsedMs < 1000) return;
    if (tenth > lastTenth || at - lastLine >= 30_000) {
      lastTenth = Math.max(lastTenth, tenth);
      lastLine = at;
      const rate = progress.elapsedMs > 0 ? Math.round((progress.done * 1000) / progress.elapsedMs) : 0;
      io.out(
        `${number.format(progress.done)} of ${number.format(progress.total)} done` +
          (progress.failed > 0 ? ` (${number.format(progress.failed)} failed)` : '') +
          `, ${rate}/s, ${formatDuration(progress.elapsedMs)}`,
      );
    }
  };
}
