// The small SQL surface the shared store needs; SQLite and PostgreSQL each implement it once.

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

/**
 * A database connection (or pool). Contract: `tx` runs `fn` in one transaction that holds the write lock
 * from its start (SQLite `BEGIN IMMEDIATE`), commits when `fn` resolves and rolls back when it throws;
 * transactions of one driver never interleave. Every write of the store goes through `tx`.
 */
export interface SqlDriver extends SqlQuerier {
  readonly dialect: 'sqlite' | 'postgres';
  tx<T>(fn: (q: SqlQuerier) => Promise<T>): Promise<T>;
  /** Synchronous transaction, for drivers over a synchronous client (SQLite): used on process exit. */
  txSync?(statements: readonly ({ readonly sql: string; readonly params: readonly unknown[] } | InsertMany)[]): void;
  close(): Promise<void>;
}

/**
 * A value no database of ours can store (text holding U+0000: PostgreSQL rejects it, so SQLite must too, or the two
 * stores would disagree). `statusCode` 400: a server answers it as a bad request.
 */
export class SqlInputError extends Error {
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
    if (typeof p === 'string' && p.includes('\u0000')) throw new SqlInputError(`text value ${JSON.stringify(p.length > 60 ? p.slice(0, 60) + '…' : p)} contains a NUL character (U+0000), which the database cannot store`);
  }
}

/** Numbers come back as strings from PostgreSQL BIGINT columns; this reads either. */
export const num = (v: unknown): number => (v === null || v === undefined ? NaN : typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
