// `kurier new "Titel"`: starts an article with a stable id, so nobody has to mint one by hand.

import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { planNewArticle } from '../content/new-article.ts';
import { SETTINGS_FILE } from '../content/read-content.ts';
import { parseSite } from '../content/settings.ts';
import { SLUG_PATTERN } from '../content/slug.ts';
import { KurierError } from '../error.ts';
import type { Command } from './command.ts';

export const newCommand: Command = {
  name: 'new',
  summary: 'Start a new article in content/posts/ with its id minted',
  help: `Usage: kurier new "Title of the article" [--slug SLUG]

Creates content/posts/<slug>.md as a draft (draft: true) with title, date (now, in the
publication's time zone), author and a stable id: tag:<tagAuthority>:<slug>. The id is
minted once and must never change, even if you later change the title or the slug.

Options:
  --slug SLUG   the URL slug (default: derived from the title, ä → ae, ß → ss)
  -h, --help    show this help`,
  options: { slug: { type: 'string' } },
  allowPositionals: true,
  async run(values, positionals, context) {
    const title = positionals.join(' ').trim();
    if (title === '') throw new KurierError('USAGE', 'give the title: kurier new "Title of the article".');
    const slug = typeof values.slug === 'string' ? values.slug : undefined;
    if (slug !== undefined && !SLUG_PATTERN.test(slug)) {
      throw new KurierError('USAGE', `--slug "${slug}": use lowercase letters, digits and single hyphens.`);
    }
    const site = parseSite(await readFile(path.join(context.root, SETTINGS_FILE), 'utf8'), SETTINGS_FILE);
    const article = planNewArticle(site, title, context.now(), slug);
    // O_EXCL: never overwrite an article that already has this slug.
    const handle = await open(path.join(context.root, article.path), 'wx').catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') {
          throw new KurierError(
            'DUPLICATE_SLUG',
            `${article.path} exists already: choose another title or --slug.`,
            {
              file: article.path,
            },
          );
        }
        throw error;
      },
    );
    try {
      await handle.writeFile(article.text);
    } finally {
      await handle.close();
    }
    context.io.out(`Created ${article.path} (draft). Write the summary and text, then remove "draft: true".`);
    return 0;
  },
};
