// The plain-text part of the email: wrapping, lists, links as numbered references, the sample's text.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArticle } from '../src/content/article.ts';
import { decodeHtmlEntities, renderMarkdown } from '../src/content/markdown.ts';
import { parseSite } from '../src/content/settings.ts';
import { compileEmail } from '../src/email/compile.ts';
import { readEmailTemplates } from '../src/email/read-templates.ts';
import { prepareEmail, renderEmail } from '../src/email/render.ts';
import { renderTextBody, textWidth, wrapText } from '../src/email/text.ts';
import { makeArticle, makeSite } from './support/fixtures.ts';

const PAGE = 'https://kurier.example/artikel/';
const text = (markdown: string, width?: number) =>
  renderTextBody(renderMarkdown(markdown, PAGE), {
    imageLabel: 'Bild',
    ...(width === undefined ? {} : { width }),
  });

describe('wrapText', () => {
  it('fills lines up to the width and no further', () => {
    const lines = wrapText(
      'Wo einst Fördertürme standen, entstehen heute Start-ups und Forschungslabore.',
      30,
    );
    expect(lines).toEqual([
      'Wo einst Fördertürme standen,',
      'entstehen heute Start-ups und',
      'Forschungslabore.',
    ]);
  });

  it('counts as Intl.Segmenter does any character of the BMP between, before, after and beside others', () => {
    const segmenter = new Intl.Segmenter('und', { granularity: 'grapheme' });
    const differing: string[] = [];
    for (let code = 0x20; code <= 0xffff; code += 1) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCharCode(code);
      // A combining or joining character (after "a"), a prepended one (before "a"), a pairing one (twice).
      const text = `a${char}${char}a`;
      if (textWidth(text) !== [...segmenter.segment(text)].length) differing.push(code.toString(16));
    }
    expect(differing).toEqual([]);
  });

  it('counts characters, not bytes or code units', () => {
    expect(textWidth('Größenmaßstäbe')).toBe(14);
    expect(textWidth('Gro\u0308ße')).toBe(5);
    expect(textWidth('„Zitat“ – 5\u202f€…')).toBe(14);
    expect(textWidth('Ja\u200d\u200cnein 👍🏽 🇩🇪')).toBe(10);
    expect(wrapText('äöüß äöüß', 9)).toEqual(['äöüß äöüß']);
  });

  it('never breaks at a no-break space or inside a URL or hyphenated word', () => {
    expect(wrapText('Es kostet 28\u00a0Millionen Euro', 14)).toEqual([
      'Es kostet',
      '28\u00a0Millionen',
      'Euro',
    ]);
    const url =
      'https://kurier.example/bochum-leben-nach-der-industrie/?utm_source=newsletter&utm_medium=email';
    expect(wrapText(`Mehr unter ${url} lesen`, 40)).toEqual(['Mehr unter', url, 'lesen']);
    expect(wrapText('Produkt-Service-Systeme', 10)).toEqual(['Produkt-Service-Systeme']);
  });

  it('keeps forced breaks', () => {
    expect(wrapText('Zeile eins\nZeile zwei', 78)).toEqual(['Zeile eins', 'Zeile zwei']);
  });
});

describe('renderTextBody', () => {
  it('underlines headings by level', () => {
    expect(text('# Titel\n\n## Der Abschied\n\n### Klein').body).toBe(
      'Titel\n=====\n\nDer Abschied\n------------\n\nKlein\n~~~~~',
    );
  });

  it('numbers links and lists their addresses; a repeated link keeps its number; relative links become absolute', () => {
    const result = text(
      'Die [Ruhr-Universität](https://www.ruhr-uni-bochum.de/) und das [ZESS](../zess/). Wieder die [RUB](https://www.ruhr-uni-bochum.de/).',
    );
    expect(result.body).toBe('Die Ruhr-Universität [1] und das ZESS [2]. Wieder die RUB [1].');
    expect(result.references).toEqual([
      '[1] https://www.ruhr-uni-bochum.de/',
      '[2] https://kurier.example/zess/',
    ]);
  });

  it('writes autolinks and addresses out instead of numbering them', () => {
    const result = text('Siehe <https://kurier.example/> oder schreiben Sie an <redaktion@kurier.example>.');
    expect(result.body).toBe('Siehe https://kurier.example/ oder schreiben Sie an redaktion@kurier.example.');
    expect(result.references).toEqual([]);
  });

  it('describes images by their alt text with a reference', () => {
    const result = text('![Förderturm im Abendlicht](bilder/turm.jpg)');
    expect(result.body).toBe('[Bild: Förderturm im Abendlicht] [1]');
    expect(result.references).toEqual(['[1] https://kurier.example/artikel/bilder/turm.jpg']);
  });

  it('renders lists, quotes and code with their structure; code is not wrapped', () => {
    const long = `curl --header 'Accept: application/json' ${'x'.repeat(80)}`;
    const result = text(
      `- Gesundheitswirtschaft und IT-Sicherheit\n- Smart Mobility\n  - Data Science\n\n3. drei\n4. vier\n\n> Glück auf!\n> Sagt man hier.\n\n- [x] erledigt\n\n\`\`\`\n${long}\n\`\`\``,
      30,
    );
    expect(result.body).toBe(
      [
        '- Gesundheitswirtschaft und',
        '  IT-Sicherheit',
        '- Smart Mobility',
        '  - Data Science',
        '',
        '3. drei',
        '4. vier',
        '',
        '> Glück auf! Sagt man hier.',
        '',
        '- [x] erledigt',
        '',
        `    ${long}`,
      ].join('\n'),
    );
  });

  it('lays out small tables as a grid and wide ones as label: value', () => {
    expect(text('| Stadt | Jahr |\n|---|---|\n| Bochum | 2014 |').body).toBe(
      'Stadt  | Jahr\n-------+-----\nBochum | 2014',
    );
    expect(text('| Stadt | Jahr der Schließung |\n|---|---|\n| Bochum | 2014 |', 26).body).toBe(
      'Stadt: Bochum\nJahr der Schließung: 2014',
    );
  });

  it('decodes character references but keeps code as written', () => {
    expect(text('Fish &amp; Chips &ndash; `a &amp; b` und \\*').body).toBe('Fish & Chips – a &amp; b und *');
    expect(decodeHtmlEntities('&#x201E;Gl&uuml;ck&#8220; &bogus;')).toBe('„Glück“ &bogus;');
  });

  it('turns raw HTML blocks into their text and drops comments', () => {
    expect(text('<div><p>Erster Absatz</p><p>Zweiter<br>Absatz</p></div>\n\n<!-- intern -->').body).toBe(
      'Erster Absatz\n\nZweiter\nAbsatz',
    );
  });
});

describe('the plain-text part of the sample email', async () => {
  const root = path.resolve(import.meta.dirname, '..');
  const file = 'content/posts/bochum-leben-nach-der-industrie.md';
  const site = parseSite(await readFile(path.join(root, 'content/site.yaml'), 'utf8'));
  const article = parseArticle(await readFile(path.join(root, file), 'utf8'), file, site);
  const templates = await readEmailTemplates(path.join(root, 'templates'));
  const compiled = await compileEmail(site, article, templates);
  const reader = {
    email: 'anna@example.org',
    name: 'Anna',
    unsubscribeUrl: `https://kurier.example/abmelden?token=${'a'.repeat(90)}`,
    fields: {},
  };
  const { text: plain } = renderEmail(prepareEmail(compiled), reader);

  it('is made from the article, wrapped at 78 columns (only URLs may be longer)', () => {
    for (const line of plain.split('\n')) {
      if (textWidth(line) > 78) expect(line).toMatch(/https:\/\/\S+$/);
    }
    expect(plain).toContain('\nDer Abschied als Anfang\n-----------------------\n');
    expect(plain).toContain(
      '\nBochum zeigt: Es gibt ein Leben nach der Industrie\n==================================================\n',
    );
    expect(plain).toContain('Von Rolevinck, 26. November 2026');
  });

  it('has the greeting, the web version, the reason, the imprint and the full unsubscribe URL', () => {
    expect(plain).toMatch(
      /^Kurier – Essays über Städte im Wandel\nIm Browser ansehen: https:\/\/kurier\.example\/bochum-leben-nach-der-industrie\/email\.html\n\nHallo Anna,\n/,
    );
    expect(plain).toContain(
      '\n-- \nSie erhalten diese E-Mail, weil Sie den Newsletter von Kurier abonniert haben.\n',
    );
    expect(plain).toContain(`Abmelden: ${reader.unsubscribeUrl}\n`);
    expect(plain).toMatch(/Kurier – Rolevinck\nMusterstraße 1\n44787 Bochum\nredaktion@kurier\.example\n$/);
  });

  it('lists the links of an article at the end of its body', async () => {
    const linked = makeArticle({
      html: '<p>Mehr beim <a href="https://zess.example/">ZESS</a> und <a href="https://kurier.example/archiv/">hier</a>.</p>\n',
    });
    const result = renderEmail(prepareEmail(await compileEmail(makeSite(), linked, templates)), reader).text;
    expect(result).toContain(
      'Mehr beim ZESS [1] und hier [2].\n\nLinks:\n[1] https://zess.example/\n[2] https://kurier.example/archiv/\n\n-- \n',
    );
  });
});
