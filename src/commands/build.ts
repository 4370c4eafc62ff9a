// `kurier build`: content/ → out/, and a summary of what was written.

import path from 'node:path';
import { buildPublication } from '../build/build.ts';
import { defineCommand, outOption, stateOption } from './command.ts';

export const buildCommand = defineCommand({
  name: 'build',
  summary: 'Build feeds, web pages and newsletter emails from content/ into out/',
  usage: 'kurier build [--out DIR] [--state DIR]',
  about: `Reads content/site.yaml and content/posts/*.md, and writes into out/:
  feed.xml, rss.xml, feed.json      Atom 1.0, RSS 2.0 and JSON Feed 1.1
  index.html, <slug>/index.html     the web pages (with feed autodiscovery)
  <slug>/email.html, email.txt      the newsletter's web version, for the newest articles

Files from static/ (images, favicon, …) are copied as they are. Nothing is written until everything
has been built and every path checked; then out/ changes as one transaction: pages first, index and
feeds last, unchanged files left alone, and any failure (a full disk too) undone, so a build that
fails leaves out/ as it was. Only files an earlier build wrote are removed: a folder holding other
files, or a symbolic link, is refused. The list of written files and the compiled emails are kept
in the private state folder (.kurier/ by default), never in out/.`,
  options: { out: outOption('where to write (default: out)'), state: stateOption },
  allowPositionals: false,
  async run(_values, _positionals, context) {
    const started = context.now().getTime();
    const { paths } = context;
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
});

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
