// The one door to Handlebars: the email and the web pages compile every template through here.

import Handlebars from 'handlebars';
import { KurierError } from '../error.ts';

/** A helper as Handlebars calls it: the template's arguments, then Handlebars' options object. */
export type TemplateHelper = (...args: never[]) => unknown;

export interface TemplateOptions {
  /** Where the source came from, for error messages ("templates/email.mjml.hbs"). */
  readonly file?: string;
  /** Output `{{x}}` as is; for plain text, where HTML escaping would turn `&` into `&amp;` in URLs. */
  readonly noEscape?: boolean;
  /** Partial sources by name, for `{{> name}}`. */
  readonly partials?: Readonly<Record<string, string>>;
  /** Where each partial came from, for error messages; without it, errors name `file`. */
  readonly partialFiles?: Readonly<Record<string, string>>;
  readonly helpers?: Readonly<Record<string, TemplateHelper>>;
}

export type Template = (data: unknown) => string;

/**
 * Text to copy verbatim, or a field to fill per render. Text never passes the Handlebars parser,
 * so `{{` in an article is just text.
 */
export type Segment = string | { readonly field: string };

/** HTML-escapes exactly as `{{x}}` does (also `=` and backtick), so both paths give the same bytes. */
export function escapeHtml(value: string): string {
  return Handlebars.Utils.escapeExpression(value);
}

/**
 * Compiles a template in strict mode: a misspelt `{{artcle.title}}` throws TEMPLATE_INVALID with its line
 * instead of rendering nothing. Helpers and partials live in an isolated environment, never the global one.
 */
export function compileTemplate(source: string, options: TemplateOptions = {}): Template {
  const helpers = options.helpers;
  // Helpers are functions, which a key cannot name: the template is compiled for their names, and each
  // call hands Handlebars the functions given (an email's helpers record that email's reader fields).
  const key = JSON.stringify([
    source,
    options.file,
    options.noEscape,
    options.partials,
    options.partialFiles,
    Object.keys(helpers ?? {}).sort(),
  ]);
  let template = compiled.get(key);
  if (template === undefined) {
    template = compileFresh(source, options);
    if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value ?? '');
    compiled.set(key, template);
  }
  const compiledTemplate = template;
  return helpers === undefined
    ? (data) => compiledTemplate(data)
    : (data) => compiledTemplate(data, { helpers: helpers as Record<string, Handlebars.HelperDelegate> });
}

type RuntimeTemplate = (data: unknown, runtime?: Handlebars.RuntimeOptions) => string;

/**
 * Compiled templates by source and options: `kurier serve` renders the same templates on every save, and
 * an email thread compiles the same two email templates for every email; compiling took half of the
 * rebuild of an index of 1,000 articles (a compiled template is a pure function of its data and helpers,
 * so reusing it changes no byte).
 */
const compiled = new Map<string, RuntimeTemplate>();
const COMPILED_KEPT = 16;

function compileFresh(source: string, options: TemplateOptions): RuntimeTemplate {
  const env = Handlebars.create();
  const file = options.file;
  const compileOptions = { strict: true, noEscape: options.noEscape === true };
  for (const [name, partial] of Object.entries(options.partials ?? {})) {
    const partialFile = options.partialFiles?.[name] ?? file;
    checkSyntax(partial, `partial "${name}"`, partialFile);
    // Wrapped so that an error inside the partial names the partial's file, and its line there.
    env.registerPartial(name, guard(env.compile(partial, compileOptions), partial, partialFile));
  }
  checkSyntax(source, 'template', file);
  return guard(env.compile(source, compileOptions), source, file);
}

/** A compiled template whose errors become TEMPLATE_INVALID with `file` and the line in it. */
function guard<Args extends unknown[]>(
  template: (...args: Args) => string,
  source: string,
  file: string | undefined,
): (...args: Args) => string {
  return (...args) => {
    try {
      return template(...args);
    } catch (error) {
      if (error instanceof KurierError) throw error;
      throw new KurierError('TEMPLATE_INVALID', describeRuntimeError(error, source), {
        ...(file === undefined ? {} : { file }),
        ...lineOf(error),
        cause: error,
      });
    }
  };
}

/** Handlebars compiles lazily, on the first render; parse now so a typo fails the build, not a send. */
function checkSyntax(source: string, what: string, file: string | undefined): void {
  try {
    Handlebars.parseWithoutProcessing(source);
  } catch (error) {
    throw new KurierError('TEMPLATE_INVALID', `The ${what} does not parse: ${messageOf(error)}`, {
      ...(file === undefined ? {} : { file }),
      ...lineOf(error),
      cause: error,
    });
  }
}

/**
 * Strict mode says only `"title" not defined in undefined - 30:12`; the expression at that place
 * (`{{artcle.title}}`) shows the writer which field is misspelt.
 */
function describeRuntimeError(error: unknown, source: string): string {
  const message = messageOf(error);
  const place = /^"([^"]+)" not defined in .* - (\d+):(\d+)$/.exec(message);
  if (place === null) return `${message}. Fix the template.`;
  const [, name, line, column] = place;
  const text = source.split('\n')[Number(line) - 1] ?? '';
  const start = text.lastIndexOf('{{', Number(column));
  const end = text.indexOf('}}', Number(column));
  const expression = start === -1 || end === -1 ? `"${name}"` : text.slice(start, end + 2);
  return `${expression} names a field that does not exist ("${name}" is not defined): check its spelling.`;
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
}

/** Handlebars puts the line in `lineNumber` (runtime) or only in the message (parse errors). */
function lineOf(error: unknown): { line?: number } {
  const fromProperty = (error as { lineNumber?: unknown } | null)?.lineNumber;
  if (typeof fromProperty === 'number') return { line: fromProperty };
  const fromMessage = /\bon line (\d+)/.exec(messageOf(error))?.[1];
  return fromMessage === undefined ? {} : { line: Number(fromMessage) };
}
