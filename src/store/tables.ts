// The tables of the store as Kysely sees them. Times are ISO 8601 strings (UTC, Date#toISOString) on both
// databases: they sort as text, and neither driver converts them behind our back.

import type { Generated } from './sql.ts';

export interface SubscribersTable {
  id: Generated<number>;
  /** As typed in the form or the list. */
  typed: string;
  /** Normalised: domain lowercase and in punycode; what RCPT TO carries. */
  email: string;
  /** Lowercased: duplicates compare this. */
  key: string;
  /** Salted hash of `key`: joins with the suppression list, which may hold only the hash. */
  key_hash: string;
  name: string;
  /** JSON object of string values: the extra fields templates use. */
  fields: string;
  status: string;
  status_cause: string;
  created_at: string;
  updated_at: string;
}

export interface ConsentsTable {
  id: Generated<number>;
  subscriber_id: number;
  /** form, import or cli. */
  source: string;
  form: string;
  page: string;
  wording: string;
  ip: string;
  user_agent: string;
  requested_at: string;
  confirmed_at: string | null;
  confirm_ip: string | null;
  confirm_user_agent: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  subscriber_id: number;
  at: string;
  status: string;
  cause: string;
}

export interface SuppressionsTable {
  address_hash: string;
  /** Null once the address is forgotten (erasure): only the hash stays, so an import cannot bring it back. */
  address_key: string | null;
  reason: string;
  cause: string;
  detail: string | null;
  created_at: string;
}

export interface ConfirmationsTable {
  id: Generated<number>;
  subscriber_id: number;
  created_at: string;
  /** queued, sent or failed. */
  state: string;
  claimed_by: string | null;
  claimed_until: string | null;
  attempts: number;
  sent_at: string | null;
  last_error: string | null;
}

export interface SendsTable {
  id: Generated<number>;
  article_id: string;
  /** JSON: the frozen email, exactly as publish handed it over. */
  email: string;
  frozen_at: string;
  total: number;
  lock_owner: string | null;
  lock_until: string | null;
}

export interface SendRecipientsTable {
  send_id: number;
  idx: number;
  subscriber_id: number | null;
  email: string;
  key_hash: string;
  name: string;
  fields: string;
  /** 0 pending, 1 attempting, 2 sent, 3 rejected, 4 deferred, 5 skipped (the order of src/send/journal.ts). */
  state: number;
  attempts: number;
  claimed_by: string | null;
  code: number | null;
  response: string | null;
  updated_at: string | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: string;
}

export interface Tables {
  subscribers: SubscribersTable;
  consents: ConsentsTable;
  subscriber_events: EventsTable;
  suppressions: SuppressionsTable;
  confirmations: ConfirmationsTable;
  sends: SendsTable;
  send_recipients: SendRecipientsTable;
  meta: MetaTable;
  schema_migrations: MigrationsTable;
}
