// `kurier new "Titel"`: starts an article with a stable id, so nobody has to mint one by hand.

import { MAX_SLUG, SLUG_PATTERN } from '../content/slug.ts';
import { normalizeText } from '../content/text.ts';
import { writeNewArticle } from '../content/write-article.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { defineCommand } from './command.ts';

export const newCommand = defineCommand({
  name: 'new',
  summary: 'Start a new article in content/posts/ with its id minted',
  usage: 'kurier new "Title of the article" [--slug SLUG]',
  about: `Creates content/posts/<slug>.md as a draft (draft: true) with title, date (now, in the
publication's time zone), author and a stable id: tag:<tagAuthority>:<slug>. The id is
minted once and must never change, even if you later change the title or the slug.`,
  options: {
    slug: {
      type: 'string',
      value: 'SLUG',
      help: `the URL slug, at most ${MAX_SLUG} characters (default: from the title, ä → ae, ß → ss,\ncut to 80 characters at a word boundary; a title without such letters gets the date)`,
      schema: z
        .string()
        .regex(
          SLUG_PATTERN,
          `use lowercase letters, digits and single hyphens, at most ${MAX_SLUG} characters`,
        )
        .max(MAX_SLUG, `use lowercase letters, digits and single hyphens, at most ${MAX_SLUG} characters`)
        .optional(),
    },
  },
  allowPositionals: true,
  async run({ slug }, positionals, context) {
    // A title is one line: a pasted line break would otherwise end up inside the quoted YAML value.
    const title = normalizeText(positionals.join(' ')).replace(/\s+/g, ' ').trim();
    if (title === '') throw new KurierError('USAGE', 'give the title: kurier new "Title of the article".');
    const written = await writeNewArticle(context.root, title, context.now(), slug);
    if (written.note !== undefined) context.io.err(`note: ${written.note}`);
    context.io.out(`Created ${written.path} (draft). Write the summary and text, then remove "draft: true".`);
    return 0;
  },
});
