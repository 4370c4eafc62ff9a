// Subscriber addresses: one raw string from a list → an address an SMTP server accepts, or why not.

import { domainToASCII } from 'node:url';

export type AddressResult =
  | {
      readonly ok: true;
      /** Local part as written, domain in ASCII (punycode) and lowercase: what RCPT TO and To: carry. */
      readonly address: string;
      /** The address lowercased: duplicates, suppression and the unsubscribe token compare this. */
      readonly key: string;
    }
  | { readonly ok: false; readonly reason: string };

// RFC 5322 §3.2.3 atext; dot-atom only. Quoted local parts ("a b"@x) are legal but virtually unused by
// real mailboxes and rejected by many providers, so a list containing one is more likely a typo.
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
// RFC 1035/5890 label after IDNA: letters, digits and inner hyphens, 63 octets at most.
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

const SHOWN = 80;

/** Outside text for a message, quoted and cut short: a 100,000-character "address" is not echoed whole. */
export function quoteForMessage(raw: string): string {
  const chars = [...raw];
  if (chars.length <= SHOWN) return `"${raw}"`;
  return `"${chars.slice(0, SHOWN - 20).join('')}…${chars.slice(-10).join('')}" (${chars.length} characters)`;
}

export function parseAddress(raw: string): AddressResult {
  const text = raw.trim();
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1)
    return { ok: false, reason: `${quoteForMessage(raw)} is not an email address` };
  const local = text.slice(0, at);
  const domainText = text.slice(at + 1);
  if (/[^\x20-\x7e]/.test(local)) {
    // RFC 6531 (SMTPUTF8) would be needed for such a mailbox, in the envelope and in the To: header; few
    // submission servers offer it (Amazon SES does not), so the address is refused up front instead of
    // failing halfway through a send.
    return {
      ok: false,
      reason: `${quoteForMessage(raw)} has non-ASCII characters before the @ (needs SMTPUTF8, not supported)`,
    };
  }
  if (local.length > 64)
    return {
      ok: false,
      reason: `${quoteForMessage(raw)}: the part before the @ is longer than 64 characters`,
    };
  if (local.split('.').some((atom) => !ATEXT.test(atom))) {
    return { ok: false, reason: `${quoteForMessage(raw)} has characters that are not allowed before the @` };
  }
  // UTS #46 mapping (what browsers do): "Bücher.Example" → "xn--bcher-kva.example".
  const domain = domainToASCII(domainText);
  const labels = domain.split('.');
  if (
    domain === '' ||
    labels.length < 2 ||
    labels.some((label) => !LABEL.test(label)) ||
    /^\d+$/.test(labels.at(-1) ?? '')
  ) {
    return { ok: false, reason: `${quoteForMessage(raw)} has no valid domain after the @` };
  }
  const address = `${local}@${domain}`;
  if (address.length > 254)
    return { ok: false, reason: `${quoteForMessage(raw)} is longer than 254 characters (RFC 5321)` };
  return { ok: true, address, key: address.toLowerCase() };
}
