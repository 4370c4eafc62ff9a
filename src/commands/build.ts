// `kurier build`: content/ → out/, and a summary of what was written.

import path from 'node:path';
import { buildPublication } from '../build/build.ts';
import type { Command } from './command.ts';
import { planPaths } from './paths.ts';

export const buildCommand: Command = {
  name: 'build',
  summary: 'Build feeds, web pages and newsletter emails from content/ into out/',
  help: `Usage: kurier build [--out DIR] [--state DIR]

Reads content/site.yaml and content/posts/*.md, and writes into out/:
  feed.xml, rss.xml, feed.json      Atom 1.0, RSS 2.0 and JSON Feed 1.1
  index.html, <slug>/index.html     the web pages (with feed autodiscovery)
  <slug>/email.html, email.txt      the newsletter's web version, for the newest articles

Files from static/ (images, favicon, …) are copied as they are. Nothing is written until everything
has been built, so a build that fails leaves out/ as it was; then each changed file is replaced
atomically, unchanged files are left alone, and files no longer built are removed.
Compiled emails are cached in the private state folder (.kurier/ by default), never in out/.

Options:
  --out DIR      where to write (default: out)
  --state DIR    private state folder (default: .kurier, or KURIER_STATE_DIR)
  -h, --help     show this help`,
  options: {
    out: { type: 'string' },
    state: { type: 'string' },
  },
  allowPositionals: false,
  async run(values, _positionals, context) {
    const started = context.now().getTime();
    const paths = planPaths(context, values);
    const result = await buildPublication({
      root: context.root,
      outDir: paths.outDir,
      stateDir: paths.stateDir,
      fullArticles: false,
    });
    const outName = path.relative(context.root, paths.outDir) || '.';
    for (const warning of result.warnings) context.io.err(`warning: ${warning}`);
    const bytes = result.written.reduce((sum, file) => sum + file.bytes, 0);
    const compiled = result.emails.filter((email) => !email.cached).length;
    const changed = result.written.filter((file) => file.changed);
    const show = changed.length <= 12 ? changed : changed.slice(0, 3);
    for (const file of show) context.io.out(`  ${outName}/${file.path}  (${formatBytes(file.bytes)})`);
    if (show.length < changed.length) context.io.out(`  … and ${changed.length - show.length} more`);
    context.io.out(
      `Built ${result.articles.length} article${result.articles.length === 1 ? '' : 's'}` +
        (result.drafts > 0 ? ` (${result.drafts} draft${result.drafts === 1 ? '' : 's'} skipped)` : '') +
        `: ${result.written.length} files, ${formatBytes(bytes)} in ${outName}/ (${changed.length} written, ` +
        `${result.written.length - changed.length} unchanged); ` +
        `${result.emails.length} email${result.emails.length === 1 ? '' : 's'} (${compiled} compiled, ` +
        `${result.emails.length - compiled} from cache) in ${context.now().getTime() - started} ms.`,
    );
    return 0;
  },
};

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
