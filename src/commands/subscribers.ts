// `kurier subscribers`: the list in the subscriber store from the command line: import, export, list, add,
// remove and forget (erasure).

import path from 'node:path';
import type { CommandContext } from '../context.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { importList } from '../send/import.ts';
import type { Store } from '../store/store.ts';
import { SUBSCRIBER_STATUSES } from '../store/store.ts';
import { EXPORT_HEADER, renderCsvLine, renderExportRow } from '../subscribe/csv.ts';
import { openRunStore } from '../subscribe/open-store.ts';
import { defineCommand, type OptionTable, stateOption } from './command.ts';

const number = new Intl.NumberFormat('en-US');

function usage(message: string): KurierError {
  return new KurierError('USAGE', `${message}; see kurier subscribers --help.`);
}

const options = {
  name: { type: 'string', value: 'NAME', help: 'the name, for add', schema: z.string().optional() },
  status: {
    type: 'string',
    value: 'STATUS',
    help: 'only pending, active, unsubscribed, bounced or complained (export, list)',
    schema: z.enum(SUBSCRIBER_STATUSES).optional(),
  },
  state: stateOption,
} satisfies OptionTable;

async function importFile(store: Store, context: CommandContext, file: string): Promise<void> {
  const full = path.resolve(context.root, file);
  const displayName = path.relative(context.root, full) || file;
  const total = await importList(
    store,
    { file: full, displayName, required: true },
    context.io,
    context.now(),
  );
  context.io.out(
    `Imported ${displayName}: ${number.format(total.added)} added, ${number.format(total.activated)} pending made active, ` +
      `${number.format(total.unchanged)} already active, ${number.format(total.refused)} not re-activated ` +
      `(unsubscribed, bounced, complained or forgotten), ${number.format(total.suppressed)} marked unsubscribed or bounced, ` +
      `${number.format(total.invalid)} invalid.`,
  );
}

async function printCounts(store: Store, context: CommandContext): Promise<void> {
  const counts = await store.counts();
  context.io.out(
    `${number.format(counts.active)} active, ${number.format(counts.pending)} pending, ${number.format(counts.unsubscribed)} unsubscribed, ` +
      `${number.format(counts.bounced)} bounced, ${number.format(counts.complained)} complained; ${number.format(counts.suppressed)} on the suppression list`,
  );
}

function needAddress(positionals: readonly string[], action: string): string {
  const address = positionals[1];
  if (address === undefined || positionals.length > 2) throw usage(`${action} takes one address`);
  return address;
}

export const subscribersCommand = defineCommand({
  name: 'subscribers',
  summary: 'Manage the subscriber list: import, export, list, add, remove, forget',
  usage: 'kurier subscribers <action> [options]',
  about: `Actions:
  import FILE        add the rows of a CSV list (Kurier, listmonk or Mailchimp export) as active
                     subscribers, the import recorded as their consent. Never re-activates an
                     unsubscribed, bounced, complained or forgotten address; rows marked
                     unsubscribed or bounced put the address on the suppression list.
  export             print every subscriber as CSV with status and consent (--status to filter)
  list               print address, status and name of every subscriber, then the counts
  add ADDRESS        add one active subscriber (--name NAME)
  remove ADDRESS     unsubscribe an address (it stays on the suppression list)
  forget ADDRESS     erase an address: its personal data is deleted, a salted hash stays on the
                     suppression list so that no import can bring it back`,
  footer: `The store is the SQLite file kurier.db in the state folder, or the PostgreSQL database named by
DATABASE_URL (postgres://…).`,
  options,
  allowPositionals: true,
  async run(values, positionals, context) {
    const action = positionals[0];
    const actions = ['import', 'export', 'list', 'add', 'remove', 'forget'];
    if (action === undefined || !actions.includes(action))
      throw usage(`name an action: ${actions.join(', ')}`);
    const { status } = values;
    const store = await openRunStore(context);
    try {
      const now = context.now();
      switch (action) {
        case 'import': {
          const file = positionals[1];
          if (file === undefined || positionals.length > 2) throw usage('import takes one CSV file');
          await importFile(store, context, file);
          return 0;
        }
        case 'export':
          context.io.out(renderCsvLine(EXPORT_HEADER));
          for await (const page of store.exportSubscribers(status))
            for (const row of page) context.io.out(renderExportRow(row));
          return 0;
        case 'list':
          for await (const page of store.exportSubscribers(status)) {
            for (const row of page)
              context.io.out([row.email, row.status, row.name].filter((cell) => cell !== '').join('  '));
          }
          await printCounts(store, context);
          return 0;
        case 'add': {
          const address = needAddress(positionals, 'add');
          const name = values.name ?? '';
          const outcome = await store.add(
            { address, name, fields: {} },
            'added with kurier subscribers add',
            now,
          );
          if (outcome === 'invalid')
            throw new KurierError('SUBSCRIBER_INVALID', `"${address}" is not an email address.`);
          if (outcome === 'refused') {
            throw new KurierError(
              'SUBSCRIBER_INVALID',
              `${address} unsubscribed, bounced, complained or was forgotten, and is not added again; only the reader can subscribe again (sign-up form, double opt-in).`,
            );
          }
          context.io.out(outcome === 'already' ? `${address} is already active.` : `${address} is active.`);
          return 0;
        }
        case 'remove': {
          const address = needAddress(positionals, 'remove');
          const removed = await store.remove(address, 'removed with kurier subscribers remove', now);
          context.io.out(
            removed
              ? `${address} is unsubscribed and on the suppression list.`
              : `${address} is not on the list.`,
          );
          return removed ? 0 : 1;
        }
        default: {
          const address = needAddress(positionals, 'forget');
          const forgotten = await store.forget(address, now);
          context.io.out(
            forgotten
              ? `${address} is forgotten: its data is deleted, a salted hash keeps it off every future import.`
              : `Nothing was known about ${address}; its hash is now on the suppression list all the same.`,
          );
          return 0;
        }
      }
    } finally {
      await store.close();
    }
  },
});
