// The one SQL layer of lathe: a small driver surface that SQLite and PostgreSQL each implement once, plus the few
// dialect differences as SQL fragments. The tracking store (src/track/sql/) and the tune storage
// (src/tune/storage/sql.ts) are written once on top of it; neither writes a driver of its own.

import { UserError } from '../errors.js';
export type Row = Record<string, unknown>;

/** A multi-row insert: `INSERT INTO table (columns) VALUES (...) suffix`, one row per entry of `rows`. */
export interface InsertMany {
  readonly table: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
  /** e.g. `ON CONFLICT (run_id, key) DO NOTHING` (the same text works in both dialects). */
  readonly suffix?: string;
}

/** Queries on one connection. Placeholders are `?`; drivers translate them. */
export interface SqlQuerier {
  all<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement and returns the number of rows it changed. */
  exec(sql: string, params?: readonly unknown[]): Promise<number>;
  insertMany(op: InsertMany): Promise<void>;
}

export type Dialect = 'sqlite' | 'postgres';

export interface TxOptions {
  /**
   * A read-only transaction that sees one snapshot (SQLite deferred `BEGIN`, PostgreSQL REPEATABLE READ), for reads
   * that must agree with each other. Default: a write transaction.
   */
  readonly snapshot?: boolean;
}

/**
 * A database connection (or pool). Contract: `tx` runs `fn` in one transaction that holds the write lock
 * from its start (SQLite `BEGIN IMMEDIATE`), commits when `fn` resolves and rolls back when it throws;
 * transactions of one driver never interleave (SQLite; PostgreSQL's run on separate connections and lock rows).
 * Every write of a store goes through `tx`.
 */
export interface SqlDriver extends SqlQuerier {
  readonly dialect: Dialect;
  tx<T>(fn: (q: SqlQuerier) => Promise<T>, options?: TxOptions): Promise<T>;
  /** Synchronous transaction, for drivers over a synchronous client (SQLite): used on process exit. */
  txSync?(statements: readonly ({ readonly sql: string; readonly params: readonly unknown[] } | InsertMany)[]): void;
  close(): Promise<void>;
}

/**
 * A value no database of ours can store (text holding U+0000: PostgreSQL rejects it, so SQLite must too, or the two
 * stores would disagree). `statusCode` 400: a server answers it as a bad request.
 */
export class SqlInputError extends UserError {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'SqlInputError';
  }
}

/** Rejects text parameters holding U+0000 (both drivers call it on every statement: the safety net behind validation). */
export function checkBindable(params: readonly unknown[]): void {
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (typeof p === 'string' && p.includes('\u0000'))
      throw new SqlInputError(
        `text value ${JSON.stringify(p.length > 60 ? p.slice(0, 60) + '…' : p)} contains a NUL character (U+0000), which the database cannot store`,
      );
  }
}

/** SQL fragments that differ between the dialects; everything else is one text for both. */
export interface DialectSql {
  /** Milliseconds since the epoch from the database clock (machines sharing one PostgreSQL agree on it). */
  readonly nowMs: string;
  /** Row lock suffix of a SELECT inside a transaction (SQLite's write transaction already excludes other writers). */
  readonly forUpdate: string;
  readonly forShare: string;
  /** `FOR UPDATE SKIP LOCKED` where rows can be claimed concurrently. */
  readonly skipLocked: string;
  /** An auto-increment integer primary key column type. */
  readonly serialKey: string;
  /** The column type of JSON documents (read back as text by SQLite, as objects by PostgreSQL). */
  readonly json: string;
  /** Advisory lock for one-time DDL (a statement run inside the migrating transaction), or none. */
  readonly ddlLock: (key: number) => string | null;
}

export const DIALECTS: Readonly<Record<Dialect, DialectSql>> = {
  sqlite: {
    nowMs: "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)",
    forUpdate: '',
    forShare: '',
    skipLocked: '',
    serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    json: 'TEXT',
    ddlLock: () => null,
  },
  postgres: {
    nowMs: '(extract(epoch from clock_timestamp()) * 1000)::bigint',
    forUpdate: ' FOR UPDATE',
    forShare: ' FOR SHARE',
    skipLocked: ' FOR UPDATE SKIP LOCKED',
    serialKey: 'BIGSERIAL PRIMARY KEY',
    json: 'JSONB',
    ddlLock: (key) => `SELECT pg_advisory_xact_lock(${Math.trunc(key)})`,
  },
};

/** Numbers come back as strings from PostgreSQL BIGINT columns; this reads either. */
export const num = (v: unknown): number =>
  v === null || v === undefined ? NaN : typeof v === 'number' ? v : Number(v);
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
