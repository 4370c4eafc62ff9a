// Text at the content boundary: article and settings files become clean, NFC-normalised Unicode before
// anything parses them, so pages, feeds and emails all start from the same characters.

import { KurierError } from '../error.ts';

// C0 controls other than tab, line feed and carriage return, DEL, and the C1 controls (mostly Windows-1252
// text decoded as Latin-1): HTML calls them parse errors (Nu HTML checker), XML 1.0 forbids the C0 ones.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/**
 * NFC, because an editor on macOS may save "ü" as "u" + combining diaeresis, which would give another slug
 * and compare unequal to the same title typed elsewhere; control characters are dropped.
 */
export function normalizeText(text: string): string {
  return text.normalize('NFC').replace(CONTROL, '');
}

/**
 * The same controls in rendered HTML: marked decodes a reference such as `&#1;` in Markdown text into the
 * character itself, and raw HTML blocks keep references (`&#x0B;`) that a browser or feed reader decodes.
 * References to 0x80–0x9F in raw HTML stay: HTML maps them to the Windows-1252 characters meant (`&#150;`).
 */
export function dropControls(html: string): string {
  return html
    .replace(/&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));/g, (reference, hex?: string, decimal?: string) => {
      const code = hex === undefined ? Number(decimal) : Number.parseInt(hex, 16);
      const control = code <= 0x1f ? code !== 0x09 && code !== 0x0a && code !== 0x0d : code === 0x7f;
      return control ? '' : reference;
    })
    .replace(CONTROL, '');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes → text; bytes that are not UTF-8 stop with the file and line instead of becoming "�". */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new KurierError(
      'CONTENT_INVALID',
      'the file is not UTF-8 text (perhaps saved as Windows-1252 or Latin-1): save it as UTF-8 in your editor.',
      { file, line: firstInvalidLine(bytes) },
    );
  }
}

/** A line feed is never part of a multi-byte sequence, so each line can be checked on its own. */
function firstInvalidLine(bytes: Uint8Array): number {
  let line = 1;
  for (let start = 0; start <= bytes.length; line++) {
    const found = bytes.indexOf(0x0a, start);
    const end = found === -1 ? bytes.length : found;
    try {
      strictUtf8.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    start = end + 1;
  }
  return line;
}
