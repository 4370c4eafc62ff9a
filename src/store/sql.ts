// The query layer of the store: Kysely, imported here only, so that an upgrade of it is read in one place.

export {
  type ColumnType,
  type Generated,
  Kysely,
  PostgresDialect,
  type Selectable,
  SqliteDialect,
  sql,
  type Transaction,
} from 'kysely';
