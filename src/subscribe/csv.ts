// The subscriber export as CSV (RFC 4180): status and the proof of consent per address. Pure.

import type { ExportRow } from '../store/store.ts';

export const EXPORT_HEADER = [
  'email',
  'name',
  'status',
  'status_cause',
  'created_at',
  'updated_at',
  'consent_source',
  'consent_form',
  'consent_page',
  'consent_wording',
  'consent_ip',
  'consent_user_agent',
  'consent_requested_at',
  'consent_confirmed_at',
  'confirm_ip',
  'confirm_user_agent',
  // listmonk's name for a JSON column of extra fields: the export reads back with `subscribers import`.
  'attributes',
] as const;

function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first; OWASP "CSV injection") gets a
 * leading apostrophe. Addresses are left as they are: they are checked, and a changed one is a wrong one.
 */
function neutralise(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function renderCsvLine(cells: readonly string[]): string {
  return cells.map(quote).join(',');
}

export function renderExportRow(row: ExportRow): string {
  const fields = Object.keys(row.fields).length === 0 ? '' : JSON.stringify(row.fields);
  return renderCsvLine([
    row.email,
    ...[
      row.name,
      row.status,
      row.statusCause,
      row.createdAt,
      row.updatedAt,
      row.consentSource,
      row.consentForm,
      row.consentPage,
      row.consentWording,
      row.consentIp,
      row.consentUserAgent,
      row.consentRequestedAt,
      row.consentConfirmedAt,
      row.confirmIp,
      row.confirmUserAgent,
      fields,
    ].map(neutralise),
  ]);
}
