// Markup helpers for the feed renderers: which characters XML 1.0 may carry, and how text is written into it.

// XML 1.0 §2.2 `Char` excludes C0 controls other than TAB/LF/CR, lone surrogates and U+FFFE/U+FFFF (a
// conforming parser rejects the whole document). The W3C Feed Validation Service also warns
// "BadCharacters" for C1 controls (U+0080–U+009F, cp1252 mojibake) and U+FFFD, and XML 1.0 §2.2
// discourages DEL and the other noncharacters, so none of them reaches a reader.
const NOT_FOR_READERS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFD\p{Noncharacter_Code_Point}\p{Cs}]/gu;

export function stripInvalidXmlChars(text: string): string {
  return text.replace(NOT_FOR_READERS, '');
}

/** Character data: `>` too, so `]]>` can never appear; CR as a reference, or parsers turn it into LF. */
export function escapeXmlText(text: string): string {
  return text.replace(/[&<>\r]/g, (char) => TEXT_ESCAPES[char] ?? char);
}

/** Attribute values: also `"` and TAB/LF/CR, which attribute-value normalisation (XML 1.0 §3.3.3) would turn into spaces. */
export function escapeXmlAttribute(text: string): string {
  return text.replace(/[&<>"\t\n\r]/g, (char) => ATTRIBUTE_ESCAPES[char] ?? char);
}

/** A CDATA section holding `text`; every `]]>` is split across two sections (one is not enough, see feed@6). */
export function cdataSection(text: string): string {
  return `<![CDATA[${text.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

/** Plain text in an RSS element: hexadecimal references for `&`, `<` and `>` (RSS Best Practices Profile). */
export function escapeRssText(text: string): string {
  return text.replace(/[&<>\r]/g, (char) => RSS_TEXT_ESCAPES[char] ?? char);
}

/** Plain text as HTML text, for Atom `type="html"` constructs and RSS descriptions. */
export function plainTextToHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => HTML_ESCAPES[char] ?? char);
}

const TEXT_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '\r': '&#13;',
};
const RSS_TEXT_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&#x26;',
  '<': '&#x3C;',
  '>': '&#x3E;',
  '\r': '&#13;',
};
const ATTRIBUTE_ESCAPES: Readonly<Record<string, string>> = {
  ...TEXT_ESCAPES,
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
};
const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
};
