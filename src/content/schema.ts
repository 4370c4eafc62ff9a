// Shared pieces of the content schemas, and the one place that turns a zod issue into a KurierError.

import { type ErrorCode, KurierError } from '../error.ts';
import { z } from '../schema.ts';
import type { ParsedYaml } from './yaml.ts';

export const personSchema = z.union([
  z.string().trim().min(1, 'a name must not be empty'),
  z.strictObject({
    name: z.string().trim().min(1, 'a name must not be empty'),
    email: z.email('expected an e-mail address like name@example.org').optional(),
    uri: z.url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' }).optional(),
  }),
]);

// Only http(s) or a path next to the page: a javascript: or data: URL in an <img> of a page, a feed or an
// email is a script or a payload nobody reviewed.
export const imageSource = z
  .string()
  .trim()
  .min(1)
  .refine(
    (src) => !/^[a-z][a-z0-9+.-]*:/i.test(src) || /^https?:\/\//i.test(src),
    'expected an http(s) URL or a path like bilder/zeche.jpg',
  );

export type PersonInput = z.infer<typeof personSchema>;

// BCP 47 in the shape feeds and HTML use it ("de", "de-AT", "en-GB"); odd tags break xml:lang validation.
export const languageSchema = z
  .string()
  .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'expected a language tag like de or de-AT');

function closest(word: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0] ?? 0;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j] ?? 0;
        row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length] ?? Number.POSITIVE_INFINITY;
  };
  const ranked = candidates
    .map((candidate) => ({ candidate, cost: distance(word.toLowerCase(), candidate.toLowerCase()) }))
    .sort((a, b) => a.cost - b.cost);
  const best = ranked[0];
  return best !== undefined && best.cost <= Math.max(2, word.length / 3) ? best.candidate : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

/** Checks `yaml.data` against `schema`; the first problem becomes `file:line CODE message` with a fix. */
export function parseWithSchema<Schema extends z.ZodType>(
  schema: Schema,
  yaml: ParsedYaml,
  file: string,
  code: ErrorCode,
  knownKeys: readonly string[],
): z.infer<Schema> {
  const result = schema.safeParse(yaml.data ?? {}, { reportInput: true });
  if (result.success) return result.data;
  // A misspelt key ("titel") also makes its field missing; naming the typo is the more useful message.
  const issues = result.error.issues;
  const issue = issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? issues[0];
  if (issue === undefined) throw new KurierError(code, 'the data is invalid.', { file });
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const path = [...issue.path, key];
    const suggestion = closest(key, knownKeys);
    const hint =
      suggestion === undefined ? `known fields: ${knownKeys.join(', ')}` : `did you mean "${suggestion}"?`;
    throw new KurierError(
      code,
      `unknown field "${path.join('.')}": remove it or correct its name (${hint}).`,
      {
        file,
        line: yaml.lineOf(path),
      },
    );
  }
  const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
  const name = path.length === 0 ? 'front matter' : path.join('.');
  // YAML reads `title: 42`, `title: yes` or `title: 2026` as a number or a boolean, not as text.
  const input: unknown = issue.input;
  if (
    issue.code === 'invalid_type' &&
    issue.expected === 'string' &&
    (typeof input === 'number' || typeof input === 'boolean')
  ) {
    throw new KurierError(
      code,
      `${name}: YAML reads ${String(input)} as a ${typeof input}, not as text; quote it: ${typeof path.at(-1) === 'string' ? `${String(path.at(-1))}: ` : ''}"${String(input)}".`,
      { file, line: yaml.lineOf(path) },
    );
  }
  const got =
    issue.code === 'invalid_type' && issue.input === undefined
      ? 'it is missing'
      : `got ${describe(issue.input)}`;
  throw new KurierError(code, `${name}: ${issue.message}; ${got}.`, { file, line: yaml.lineOf(path) });
}
