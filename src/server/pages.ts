// The pages of kurier server from templates/server/page.hbs, in the site's language with its stylesheet.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import { compileTemplate } from '../render/handlebars.ts';
import { planSubscriptionStrings, type SubscriptionStrings } from '../subscribe/strings.ts';

export const PAGE_TEMPLATE = 'server/page.hbs';

export type PageKind =
  | 'check-inbox'
  | 'invalid-address'
  | 'confirm'
  | 'confirmed'
  | 'already-confirmed'
  | 'unsubscribe'
  | 'unsubscribed'
  | 'invalid-link'
  | 'expired-link'
  | 'too-many';

export interface PageSite {
  readonly title: string;
  /** The publication's home page. */
  readonly url: string;
  readonly language: string;
}

export interface PageData {
  readonly lang: string;
  readonly site: { readonly title: string; readonly url: string; readonly stylesheet: string };
  readonly title: string;
  readonly message: string;
  /** One button that POSTs the token: a GET never changes anything (link scanners fetch every link). */
  readonly form: { readonly action: string; readonly token: string; readonly button: string } | null;
  readonly strings: SubscriptionStrings;
}

export type PageRenderer = (kind: PageKind, token?: string) => string;

export async function readPageTemplate(templatesDir: string): Promise<{ file: string; source: string }> {
  const file = path.posix.join('templates', PAGE_TEMPLATE);
  try {
    return { file, source: await readFile(path.join(templatesDir, PAGE_TEMPLATE), 'utf8') };
  } catch (error) {
    throw new KurierError(
      'TEMPLATE_INVALID',
      `cannot read the page template of kurier server (${(error as Error).message}); restore it from Kurier's templates/ folder.`,
      { file, cause: error },
    );
  }
}

export function planPage(site: PageSite, strings: SubscriptionStrings, kind: PageKind, token = ''): PageData {
  const texts: Readonly<Record<PageKind, readonly [string, string]>> = {
    'check-inbox': [strings.checkInbox, strings.checkInboxText],
    'invalid-address': [strings.subscribeTitle, strings.invalidAddress],
    confirm: [strings.confirmTitle, strings.confirmText],
    confirmed: [strings.confirmedTitle, strings.confirmedText],
    'already-confirmed': [strings.confirmedTitle, strings.alreadyConfirmed],
    unsubscribe: [strings.unsubscribeTitle, strings.unsubscribeText],
    unsubscribed: [strings.unsubscribedTitle, strings.unsubscribedText],
    'invalid-link': [strings.invalidLinkTitle, strings.invalidLinkText],
    'expired-link': [strings.invalidLinkTitle, strings.expiredLinkText],
    'too-many': [strings.tooManyTitle, strings.tooManyText],
  };
  const [title, message] = texts[kind];
  const form =
    kind === 'confirm'
      ? { action: 'confirm', token, button: strings.confirmButton }
      : kind === 'unsubscribe'
        ? { action: 'unsubscribe', token, button: strings.unsubscribeButton }
        : null;
  return {
    lang: site.language,
    site: { title: site.title, url: site.url, stylesheet: new URL('style.css', site.url).href },
    title,
    message,
    form,
    strings,
  };
}

/** Compiles the template once (strict: a misspelt field stops the server at start, not a reader's click). */
export function preparePages(template: { file: string; source: string }, site: PageSite): PageRenderer {
  const render = compileTemplate(template.source, { file: template.file });
  const strings = planSubscriptionStrings(site.language);
  for (const kind of ['confirm', 'check-inbox'] as const) render(planPage(site, strings, kind, 'x'));
  return (kind, token) => render(planPage(site, strings, kind, token));
}
