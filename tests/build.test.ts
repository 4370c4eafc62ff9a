// `kurier build` end to end on a copy of the sample project: what it writes, determinism, failed builds, the email cache.

import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectSameFiles, readTree, repoRoot, runCli, useProjects } from './support/project.ts';
import { lacks } from './support/requirements.ts';
import {
  checkAtomSchematron,
  checkWellFormed,
  parseWithFeedparser,
  validateAtomWithJing,
} from './support/validators.ts';

const { project, folder } = useProjects();

const SLUG = 'bochum-leben-nach-der-industrie';

/** The seed article's paragraphs as the author wrote them, without the blog's leftovers. */
async function seedParagraphs(): Promise<string[]> {
  const seed = await readFile(path.resolve(repoRoot, '../shared/seed/article.txt'), 'utf8');
  const paragraphs = seed
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  expect(paragraphs.slice(-2)).toEqual(['Von Rolevinck', 'Schreibe einen Kommentar']);
  return paragraphs.slice(0, -2);
}

describe('kurier build on the sample publication', async () => {
  const root = await project();
  const run = await runCli(root, ['build']);
  const out = path.join(root, 'out');

  it('succeeds and prints what it wrote', () => {
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out.join('\n')).toContain(`out/${SLUG}/index.html`);
    expect(run.out.at(-1)).toMatch(
      /^Built 1 article: 9 files, .* in out\/ \(9 written, 0 unchanged\); 1 email \(1 compiled, 0 from cache\)/,
    );
  });

  it('writes feeds, pages and the email web version', async () => {
    expect([...(await readTree(out)).keys()]).toEqual([
      `${SLUG}/email.html`,
      `${SLUG}/email.txt`,
      `${SLUG}/index.html`,
      'feed.json',
      'feed.xml',
      'icon.png',
      'index.html',
      'rss.xml',
      'style.css',
    ]);
  });

  it.skipIf(lacks('seed', 'feedparser'))(
    'keeps the article word for word: every paragraph of the seed reaches the page and the feeds',
    async () => {
      const page = await readFile(path.join(out, SLUG, 'index.html'), 'utf8');
      const json = JSON.parse(await readFile(path.join(out, 'feed.json'), 'utf8')) as {
        items: { content_html: string }[];
      };
      const atom = parseWithFeedparser(path.join(out, 'feed.xml'));
      const atomContent =
        ((atom.entries[0]?.content as { value: string }[] | undefined) ?? [])[0]?.value ?? '';
      for (const paragraph of await seedParagraphs()) {
        expect(page).toContain(paragraph);
        expect(json.items[0]?.content_html).toContain(paragraph);
        expect(atomContent).toContain(paragraph);
      }
      expect(page).not.toContain('Schreibe einen Kommentar');
    },
  );

  it.skipIf(lacks('jing', 'xmllint', 'schemas'))(
    'produces an Atom feed valid against RFC 4287 (RELAX NG and Schematron)',
    () => {
      const feed = path.join(out, 'feed.xml');
      const jing = validateAtomWithJing(feed);
      expect(jing.output).toBe('');
      expect(jing.ok).toBe(true);
      const rules = checkAtomSchematron(feed);
      expect(rules.ok, rules.output).toBe(true);
    },
  );

  it.skipIf(lacks('seed', 'feedparser'))(
    'is read by feedparser without a bozo flag, with every German character intact',
    async () => {
      const [first] = await seedParagraphs();
      for (const [name, version] of [
        ['feed.xml', 'atom10'],
        ['rss.xml', 'rss20'],
      ] as const) {
        const parsed = parseWithFeedparser(path.join(out, name));
        expect(parsed.bozo, parsed.bozoException ?? '').toBe(false);
        expect(parsed.version).toBe(version);
        const entry = parsed.entries[0] ?? {};
        expect(entry.title).toBe('Bochum zeigt: Es gibt ein Leben nach der Industrie');
        expect(entry.author).toBe('Rolevinck');
        expect(entry.link).toBe(`https://kurier.example/${SLUG}/`);
        expect(entry.id).toBe(`tag:kurier.example,2026:${SLUG}`);
        expect(entry.summary).toContain(first);
      }
    },
  );

  it('links every feed entry to a page that exists in out/', async () => {
    const json = JSON.parse(await readFile(path.join(out, 'feed.json'), 'utf8')) as {
      items: { url: string }[];
    };
    for (const item of json.items) {
      const relative = new URL(item.url).pathname.slice(1);
      await expect(readFile(path.join(out, relative, 'index.html'), 'utf8')).resolves.toContain('<article');
    }
  });
});

describe('determinism', () => {
  it('gives byte-identical out/ on every build, in any folder, with a cold or warm email cache', async () => {
    const first = await project();
    const second = await project();
    expect((await runCli(first, ['build'])).code).toBe(0);
    const once = await readTree(path.join(first, 'out'));
    expect((await runCli(first, ['build'])).code).toBe(0);
    const twice = await readTree(path.join(first, 'out'));
    expect((await runCli(second, ['build'])).code).toBe(0);
    const elsewhere = await readTree(path.join(second, 'out'));
    expect(once.size).toBe(9);
    for (const tree of [twice, elsewhere]) {
      expectSameFiles(tree, once);
    }
  });
});

describe('a failed build', () => {
  it('names the file, line and fix, and leaves the previous out/ intact', async () => {
    const root = await project();
    expect((await runCli(root, ['build'])).code).toBe(0);
    const before = await readTree(path.join(root, 'out'));
    const file = path.join(root, 'content', 'posts', `${SLUG}.md`);
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('date: 2026-11-26T08:00:00+01:00', 'date: 26.11.'),
    );
    await writeFile(path.join(root, 'content', 'posts', 'zweiter.md'), '# Ohne Front Matter\n');
    const failed = await runCli(root, ['build']);
    expect(failed.code).toBe(1);
    expect(failed.err.join('\n').split('\n')).toEqual([
      `content/posts/${SLUG}.md:5  FRONT_MATTER_INVALID  date: expected a date like 2026-11-26 or 2026-11-26T08:00:00+01:00; got "26.11.".`,
      'content/posts/zweiter.md:1  FRONT_MATTER_MISSING  the file does not start with front matter: make its first line "---", then the fields (title: …, date: …), then another "---".',
    ]);
    const after = await readTree(path.join(root, 'out'));
    expectSameFiles(after, before);
  });

  it('reports a broken email template from the email thread, with out/ untouched', async () => {
    const root = await project();
    expect((await runCli(root, ['build'])).code).toBe(0);
    const before = await readTree(path.join(root, 'out'));
    const template = path.join(root, 'templates', 'email.mjml.hbs');
    await writeFile(
      template,
      (await readFile(template, 'utf8')).replace('{{article.title}}</h1>', '{{#if}}</h1>'),
    );
    const failed = await runCli(root, ['build']);
    expect(failed.code).toBe(1);
    expect(failed.err.join('\n')).toMatch(/^templates\/email\.mjml\.hbs(:\d+)? {2}TEMPLATE_INVALID {2}/);
    const after = await readTree(path.join(root, 'out'));
    for (const [name, bytes] of before) expect(after.get(name)?.equals(bytes), name).toBe(true);
  });

  it('refuses an output folder that would replace the project', async () => {
    const root = await project();
    const run = await runCli(root, ['build', '--out', 'content']);
    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toContain('OUT_DIR_UNSAFE');
    await expect(readFile(path.join(root, 'content', 'site.yaml'), 'utf8')).resolves.toContain(
      'title: Kurier',
    );
  });
});

function decodeEntities(html: string): string {
  const entities: Record<string, string> = { lt: '<', gt: '>', quot: '"', '#34': '"', amp: '&' };
  return html.replace(/&(lt|gt|quot|#34|amp);/g, (_match, name: string) => entities[name] ?? '');
}

describe('out/ after a change', () => {
  it('rewrites only what changed, removes what it built before and no longer builds, and copies static/', async () => {
    const root = await project();
    const extra = path.join(root, 'content', 'posts', 'zweiter.md');
    await writeFile(
      extra,
      '---\nid: tag:kurier.example,2026:zweiter\ntitle: Zweiter\ndate: 2026-11-20\nsummary: Kurz.\n---\nText.\n',
    );
    expect((await runCli(root, ['build'])).code).toBe(0);
    expect((await readTree(path.join(root, 'out'))).has('zweiter/index.html')).toBe(true);
    await rm(extra);
    await mkdir(path.join(root, 'static', 'bilder'), { recursive: true });
    await writeFile(
      path.join(root, 'static', 'bilder', 'zeche.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg"/>',
    );
    const second = await runCli(root, ['build']);
    expect(second.err).toEqual([]);
    expect(second.out.at(-1)).toContain('10 files');
    expect(second.out.at(-1)).toContain('(5 written, 5 unchanged)');
    expect(second.out).toContain('  out/bilder/zeche.svg  (41 B)');
    const tree = await readTree(path.join(root, 'out'));
    expect([...tree.keys()].filter((name) => name.startsWith('zweiter'))).toEqual([]);
    expect(await readdir(path.join(root, 'out'))).not.toContain('zweiter');
    expect(tree.get('bilder/zeche.svg')?.toString()).toContain('<svg');
    expect([...tree.keys()].filter((name) => name.includes('.kurier-'))).toEqual([]);
  });

  it('refuses a static file that would replace a page', async () => {
    const root = await project();
    await mkdir(path.join(root, 'static'), { recursive: true });
    await writeFile(path.join(root, 'static', 'feed.xml'), '<feed/>');
    const run = await runCli(root, ['build']);
    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toMatch(
      /^static\/feed\.xml {2}OUT_DIR_UNSAFE {2}static\/feed\.xml would replace/,
    );
  });
});

describe('hostile content', () => {
  it.skipIf(lacks('jing', 'xmllint', 'feedparser', 'schemas'))(
    'still builds well-formed, valid feeds and valid JSON',
    async () => {
      const root = await project();
      const posts = path.join(root, 'content', 'posts');
      const front = (id: string, title: string, extra = '') =>
        `---\nid: tag:kurier.example,2026:${id}\ntitle: ${JSON.stringify(title)}\ndate: 2026-11-2${id.length % 9}\nsummary: ${JSON.stringify(`Lead ${title}`)}\n${extra}---\n`;
      await writeFile(
        path.join(posts, 'steuer.md'),
        `${front('steuer', 'Steuer\u0001zeichen\u0008 und \u001b Escape')}\nText mit \u0000 NUL, \u000b VT und \uFFFE.\n`,
      );
      await writeFile(
        path.join(posts, 'cdata.md'),
        `${front('cdata', 'Zwei ]]> und noch ]]> im Titel')}\nErst ]]> dann <code>]]></code> und ]]>.\n`,
      );
      await writeFile(
        path.join(posts, 'zeichen.md'),
        `${front('zeichen', 'A < B & "C" > D', 'author:\n  name: "Ö<&\\"Autor"\ntags: ["a<b", "c&d", "\\"e\\""]\n')}\nText & <em>mehr</em> 😀 👩‍👩‍👧 „Zitat“.\n`,
      );
      await writeFile(
        path.join(posts, 'gross.md'),
        `${front('gross', 'Sehr lang')}\n${'Wort für Wort, Absatz für Absatz. '.repeat(65_000)}\n`,
      );
      await writeFile(path.join(posts, 'leer.md'), front('leer', 'Leerer Text'));
      await writeFile(
        path.join(posts, 'crlf.md'),
        `\uFEFF${front('crlf', 'Windows-Zeilen')}\nErste Zeile\n\nZweite Zeile\n`.replace(/\n/g, '\r\n'),
      );
      const run = await runCli(root, ['build']);
      expect(run.err.filter((line) => !line.startsWith('warning:'))).toEqual([]);
      expect(run.code).toBe(0);
      const out = path.join(root, 'out');
      for (const name of ['feed.xml', 'rss.xml']) {
        const wellFormed = checkWellFormed(path.join(out, name));
        expect(wellFormed.ok, wellFormed.output).toBe(true);
        const parsed = parseWithFeedparser(path.join(out, name));
        expect(parsed.bozo, parsed.bozoException ?? '').toBe(false);
        expect(parsed.entries).toHaveLength(7);
        // Atom titles are type="html" (as jekyll-feed writes them): feedparser hands over the markup, which
        // a reader displays with its entities resolved.
        const titles = parsed.entries.map((entry) => decodeEntities(String(entry.title)));
        expect(titles, name).toContain('Zwei ]]> und noch ]]> im Titel');
        expect(titles, name).toContain('A < B & "C" > D');
      }
      expect(validateAtomWithJing(path.join(out, 'feed.xml')).output).toBe('');
      const json = JSON.parse(await readFile(path.join(out, 'feed.json'), 'utf8')) as {
        items: { title: string }[];
      };
      expect(json.items.map((item) => item.title)).toContain('Steuerzeichen und  Escape');
      const page = await readFile(path.join(out, 'windows-zeilen', 'index.html'), 'utf8');
      expect(page).toContain('<p>Erste Zeile</p>');
    },
  );
});

describe('the email cache', () => {
  it('compiles an unchanged article once and recompiles it when it changes', async () => {
    const root = await project();
    const state = await folder('kurier-state-');
    expect((await runCli(root, ['build', '--state', state])).out.at(-1)).toContain(
      '(1 compiled, 0 from cache)',
    );
    expect((await runCli(root, ['build', '--state', state])).out.at(-1)).toContain(
      '(0 compiled, 1 from cache)',
    );
    const file = path.join(root, 'content', 'posts', `${SLUG}.md`);
    await writeFile(file, (await readFile(file, 'utf8')).replace('Neuerfindung.', 'Neuerfindung!'));
    expect((await runCli(root, ['build', '--state', state])).out.at(-1)).toContain(
      '(1 compiled, 0 from cache)',
    );
    expect(await readdir(path.join(state, 'cache', 'emails'))).toHaveLength(1);
  });
});
