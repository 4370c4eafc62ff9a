// The email benchmark: MJML compile per article, then personalised HTML+text and full MIME messages per second.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArticle } from '../src/content/article.ts';
import { parseSite } from '../src/content/settings.ts';
import { compileEmail } from '../src/email/compile.ts';
import { prepareMessage, renderMessage } from '../src/email/mime.ts';
import type { Reader } from '../src/email/model.ts';
import { readEmailTemplates } from '../src/email/read-templates.ts';
import { prepareEmail, renderEmail } from '../src/email/render.ts';

const COMPILES = 20;
const READERS = 10_000;

export async function benchEmail(print: (line: string) => void): Promise<void> {
  const root = path.resolve(import.meta.dirname, '..');
  const file = 'content/posts/bochum-leben-nach-der-industrie.md';
  const site = parseSite(await readFile(path.join(root, 'content/site.yaml'), 'utf8'));
  const article = parseArticle(await readFile(path.join(root, file), 'utf8'), file, site);
  const templates = await readEmailTemplates(path.join(root, 'templates'));

  await compileEmail(site, article, templates);
  const compileStart = performance.now();
  for (let i = 0; i < COMPILES; i += 1) await compileEmail(site, article, templates);
  const compileMs = (performance.now() - compileStart) / COMPILES;
  const compiled = await compileEmail(site, article, templates);

  const readers: Reader[] = Array.from({ length: READERS }, (_, i) => ({
    email: `leser${i}@example.org`,
    name: `Leserin Nummer ${i} Müller`,
    unsubscribeUrl: `https://kurier.example/abmelden?token=${i.toString(36).padStart(24, '0')}`,
    fields: {},
  }));

  const prepared = prepareEmail(compiled);
  let bytes = 0;
  const renderStart = performance.now();
  for (const reader of readers) {
    const { html, text } = renderEmail(prepared, reader);
    // Measuring the UTF-8 size reads every character, so V8 flattens the concatenated strings as a consumer would.
    bytes += Buffer.byteLength(html) + Buffer.byteLength(text);
  }
  const renderSeconds = (performance.now() - renderStart) / 1000;

  const message = prepareMessage(compiled, site);
  let messageBytes = 0;
  const mimeStart = performance.now();
  readers.forEach((reader, i) => {
    messageBytes += renderMessage(message, reader, {
      messageId: `<bench-${i}@kurier.example>`,
      date: new Date('2026-11-26T07:00:00Z'),
      listId: 'Kurier <newsletter.kurier.example>',
      unsubscribeMailto: 'abmelden@kurier.example',
    }).length;
  });
  const mimeSeconds = (performance.now() - mimeStart) / 1000;

  const perReaderMjml = 1000 / compileMs;
  const renderRate = READERS / renderSeconds;
  const mimeRate = READERS / mimeSeconds;
  print(
    `email: compileEmail (Handlebars + MJML strict + split), mean of ${COMPILES}: ${compileMs.toFixed(1)} ms/article`,
  );
  print(
    `email: renderEmail HTML+text for ${READERS} readers: ${renderRate.toFixed(0)}/s (${(bytes / READERS / 1000).toFixed(1)} kB each)`,
  );
  print(
    `email: renderMessage full MIME for ${READERS} readers: ${mimeRate.toFixed(0)}/s (${(messageBytes / READERS / 1000).toFixed(1)} kB each)`,
  );
  print(
    `email: vs. MJML per reader (~${perReaderMjml.toFixed(0)}/s): ${(renderRate / perReaderMjml).toFixed(0)}× (HTML+text), ${(mimeRate / perReaderMjml).toFixed(0)}× (MIME)`,
  );
}
