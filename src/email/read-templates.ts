// The disk side of the email templates: templates/email.mjml.hbs, email.txt.hbs and email-partials/*.hbs.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';

export interface TemplateSource {
  /** For error messages: "templates/email.mjml.hbs". */
  readonly file: string;
  readonly source: string;
}

/** Plain strings (JSON-serialisable): the build hashes them into the email cache key. */
export interface EmailTemplates {
  readonly html: TemplateSource;
  readonly text: TemplateSource;
  /** By name: email-partials/footer.hbs is `{{> footer}}`. */
  readonly partials: Readonly<Record<string, TemplateSource>>;
}

export const EMAIL_HTML_TEMPLATE = 'email.mjml.hbs';
export const EMAIL_TEXT_TEMPLATE = 'email.txt.hbs';
export const EMAIL_PARTIALS = 'email-partials';

/** One template file below templates/; `what` names it in the error ("the email template"). */
export async function readTemplateSource(
  templatesDir: string,
  name: string,
  what: string,
): Promise<TemplateSource> {
  const file = path.posix.join('templates', name);
  try {
    return { file, source: await readFile(path.join(templatesDir, name), 'utf8') };
  } catch (error) {
    throw new KurierError(
      'TEMPLATE_INVALID',
      `cannot read ${what} (${(error as Error).message}); restore it from Kurier's templates/ folder.`,
      { file, cause: error },
    );
  }
}

/** templates/email-partials/*.hbs by name, shared by the newsletter and the confirmation mail. */
export async function readEmailPartials(templatesDir: string): Promise<Record<string, TemplateSource>> {
  const names = await readdir(path.join(templatesDir, EMAIL_PARTIALS)).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  const partials: Record<string, TemplateSource> = {};
  for (const name of names.filter((entry) => entry.endsWith('.hbs')).sort()) {
    partials[name.slice(0, -'.hbs'.length)] = await readTemplateSource(
      templatesDir,
      path.posix.join(EMAIL_PARTIALS, name),
      'the email template',
    );
  }
  return partials;
}

export async function readEmailTemplates(templatesDir: string): Promise<EmailTemplates> {
  const read = (name: string) => readTemplateSource(templatesDir, name, 'the email template');
  return {
    html: await read(EMAIL_HTML_TEMPLATE),
    text: await read(EMAIL_TEXT_TEMPLATE),
    partials: await readEmailPartials(templatesDir),
  };
}
