// The query layer of the store: Kysely, imported here only, so that an upgrade of it is read in one place.

export {
  type ColumnType,
  CompiledQuery,
  type DatabaseConnection,
  type Dialect as QueryDialect,
  type Driver,
  type Generated,
  Kysely,
  PostgresDialect,
  type QueryResult,
  type Selectable,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
  type Transaction,
} from 'kysely';
