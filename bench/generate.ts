// Generates a publication of N articles of about 1,200 words each, for the build benchmark.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const WORDS = (
  'Bochum Strukturwandel Ruhrgebiet Förderturm Werkshalle Forschung Gründerszene Universität Industrie ' +
  'Zukunft Digitalisierung Verwaltung Innovation Wissenschaft Wirtschaft Gesellschaft Plattform Energie ' +
  'und oder aber nicht nur sondern auch die der das ein eine mit für über unter zwischen heute gestern ' +
  'Straße Größe Übergang schön grün „Glück auf“ – Maß Öffnung Ärger'
).split(' ');

/** A small deterministic PRNG (mulberry32): every run generates the same text, and a test's failure repeats. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(next: () => number, words: number): string {
  const parts = Array.from({ length: words }, () => WORDS[Math.floor(next() * WORDS.length)] ?? 'Bochum');
  const text = parts.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

export function generateArticle(index: number, words = 1200): string {
  const next = random(index + 1);
  const blocks: string[] = [];
  let count = 0;
  while (count < words) {
    if (blocks.length % 6 === 5) {
      blocks.push(`## ${sentence(next, 4).slice(0, -1)}`);
      count += 4;
      continue;
    }
    const sentences = Array.from({ length: 5 }, () => sentence(next, 8 + Math.floor(next() * 10)));
    if (blocks.length % 4 === 2) sentences.push(`Mehr dazu [im Archiv](../artikel-${index + 1}/).`);
    const paragraph = sentences.join(' ');
    blocks.push(paragraph);
    count += paragraph.split(' ').length;
  }
  const day = new Date(Date.UTC(2020, 0, 1) + index * 3_600_000).toISOString();
  return [
    '---',
    `id: tag:kurier.example,2026:artikel-${index}`,
    `title: "Artikel ${index}: ${sentence(next, 5).slice(0, -1)}"`,
    `slug: artikel-${index}`,
    `date: ${day}`,
    'author: Rolevinck',
    `summary: "${sentence(next, 30)}"`,
    'tags: [Bochum, Strukturwandel]',
    '---',
    '',
    blocks.join('\n\n'),
    '',
  ].join('\n');
}

/** Writes a project at `root` with the sample's settings and templates and `count` generated articles. */
export async function generateProject(root: string, sampleRoot: string, count: number): Promise<void> {
  await mkdir(path.join(root, 'content', 'posts'), { recursive: true });
  await writeFile(
    path.join(root, 'content', 'site.yaml'),
    await readFile(path.join(sampleRoot, 'content', 'site.yaml')),
  );
  for (let start = 0; start < count; start += 256) {
    const batch = Array.from({ length: Math.min(256, count - start) }, (_, offset) => start + offset);
    await Promise.all(
      batch.map((index) =>
        writeFile(path.join(root, 'content', 'posts', `artikel-${index}.md`), generateArticle(index)),
      ),
    );
  }
}
