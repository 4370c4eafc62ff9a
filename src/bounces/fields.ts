// Header-style fields inside a message body: the per-recipient blocks of an RFC 3464 delivery-status part,
// an RFC 5965 feedback report, and the headers of a returned original.

export interface FieldBlock {
  /** Lowercased name → values in order. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
}

const FIELD = /^([A-Za-z][\w-]*):[ \t]*(.*)$/;

/**
 * Runs of `Name: value` lines (with folded continuations) separated by anything else. Mail systems break
 * the blank line between per-recipient blocks (RFC 3464 §2.1) often enough that a repeated recipient field
 * starts a new block too.
 */
export function parseFieldBlocks(text: string): FieldBlock[] {
  const blocks: FieldBlock[] = [];
  let current: Map<string, string[]> | undefined;
  let last: { name: string; values: string[] } | undefined;
  const close = () => {
    if (current !== undefined && current.size > 0) blocks.push({ fields: current });
    current = undefined;
    last = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (last !== undefined && /^[ \t]+\S/.test(line)) {
      const index = last.values.length - 1;
      last.values[index] = `${last.values[index]} ${line.trim()}`;
      continue;
    }
    const match = FIELD.exec(line);
    if (match === null) {
      close();
      continue;
    }
    const name = (match[1] as string).toLowerCase();
    const value = (match[2] as string).trim();
    if (current !== undefined && (name === 'final-recipient' || name === 'original-recipient')) {
      const startsAnother = current.has(name) || current.has('action') || current.has('status');
      if (startsAnother) close();
    }
    current ??= new Map();
    const values = current.get(name) ?? [];
    values.push(value);
    current.set(name, values);
    last = { name, values };
  }
  close();
  return blocks;
}

export function fieldOf(block: FieldBlock, name: string): string | undefined {
  return block.fields.get(name)?.[0];
}

/** The address in `rfc822; someone@example.org`, `<someone@example.org>` or a display form. */
export function parseAddressField(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const withoutType = value.replace(/^[\w-]+\s*;\s*/, '');
  return findAddresses(withoutType)[0];
}

const ADDRESS = /[\w.!#$%&'*+/=?^`{|}~-]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]/gi;

/** Every address in a text, lowercased, in order of appearance, each once. */
export function findAddresses(text: string): string[] {
  const seen = new Set<string>();
  for (const match of text.matchAll(ADDRESS)) {
    const address = match[0].toLowerCase().replace(/^[.'`]+|\.+$/g, '');
    if (address.includes('@') && !address.startsWith('@')) seen.add(address);
  }
  return [...seen];
}
