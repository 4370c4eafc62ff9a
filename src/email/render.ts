// CompiledEmail + one reader → that reader's HTML and text. Runs per reader: no MJML, no parsing of article text.

import { KurierError } from '../error.ts';
import { escapeHtml, type Segment } from '../render/handlebars.ts';
import { type CompiledEmail, EXTRA_FIELD_PREFIX, type Reader } from './model.ts';

export interface PreparedEmail {
  readonly compiled: CompiledEmail;
  readonly html: (values: Readonly<Record<string, string>>) => string;
  readonly text: (values: Readonly<Record<string, string>>) => string;
}

/** The two per-reader templates of an article: HTML escaped, text as is. */
export function prepareEmail(compiled: CompiledEmail): PreparedEmail {
  return {
    compiled,
    html: (values) => fillSegments(compiled.html, values, escapeHtml),
    text: (values) => fillSegments(compiled.text, values, (value) => value),
  };
}

/**
 * The segments' text with each field's value, as `{{values.field}}` (or `{{{…}}}`) gives it: a missing one as
 * "". Filled in directly: a Handlebars template of the segments renders the same bytes (tests/email.test.ts),
 * but compiling it cost ~5 ms in the email thread and as much again on the main thread for the web version.
 */
function fillSegments(
  segments: readonly Segment[],
  values: Readonly<Record<string, string>>,
  encode: (value: string) => string,
): string {
  let out = '';
  for (const segment of segments) {
    out += typeof segment === 'string' ? segment : encode(values[segment.field] ?? '');
  }
  return out;
}

export function renderEmail(prepared: PreparedEmail, reader: Reader): { html: string; text: string } {
  const values = planReaderValues(prepared.compiled, reader);
  return { html: prepared.html(values), text: prepared.text(values) };
}

/** The reader of the web version (out/<slug>/email.html): nobody in particular, the generic unsubscribe page. */
export function planWebReader(compiled: CompiledEmail): Reader {
  const fields = Object.fromEntries(
    compiled.readerFields
      .filter((field) => field.startsWith(EXTRA_FIELD_PREFIX))
      .map((field) => [field.slice(EXTRA_FIELD_PREFIX.length), '']),
  );
  return { email: '', name: '', unsubscribeUrl: compiled.webUnsubscribeUrl, fields };
}

/** The value of every field the templates use, unescaped; each part escapes for its own format. */
export function planReaderValues(compiled: CompiledEmail, reader: Reader): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of compiled.readerFields) values[field] = readerValue(compiled, reader, field);
  return values;
}

function readerValue(compiled: CompiledEmail, reader: Reader, field: string): string {
  switch (field) {
    case 'name':
      return displayName(reader.name);
    case 'email':
      return reader.email;
    case 'unsubscribeUrl':
      return reader.unsubscribeUrl;
    case 'greeting': {
      const name = displayName(reader.name);
      const [before, after] = compiled.greeting.named;
      return name === '' ? compiled.greeting.anonymous : `${before}${name}${after}`;
    }
    default: {
      const column = field.slice(EXTRA_FIELD_PREFIX.length);
      if (field.startsWith(EXTRA_FIELD_PREFIX) && Object.hasOwn(reader.fields, column)) {
        return reader.fields[column] ?? '';
      }
      throw new KurierError(
        'EMAIL_INVALID',
        `the email template uses {{reader "${field}"}}, but the subscriber list has no column "${column}" for ${reader.email}: add the column or remove the field from the template.`,
        { file: compiled.sourcePath },
      );
    }
  }
}

/** A name as it may be shown: control characters (a CSV cell may hold line breaks) become spaces. */
function displayName(name: string): string {
  return name.replace(/[\p{Cc}\s]+/gu, ' ').trim();
}
