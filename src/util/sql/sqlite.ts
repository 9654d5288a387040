// SqlDriver over better-sqlite3: WAL journal, a busy timeout so concurrent writer processes wait instead of failing.
import Database from 'better-sqlite3';
import { checkBindable, type InsertMany, type Row, type SqlDriver, type SqlQuerier, type TxOptions } from './driver.js';

type Db = Database.Database;
type Stmt = Database.Statement<unknown[]>;

/** SQLite stores no NaN and no booleans: map them to what it does store. */
const bind = (params: readonly unknown[]): unknown[] => (
  checkBindable(params),
  params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : typeof p === 'number' && Number.isNaN(p) ? null : p))
);

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Db;
  private readonly cache = new Map<string, Stmt>();
  /** Tail of the transaction queue: transactions of this driver run one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Opens (creating) `file`. `foreignKeys`: enforce REFERENCES and ON DELETE CASCADE (default off). */
  constructor(file: string, options: { readonly busyTimeoutMs?: number; readonly foreignKeys?: boolean } = {}) {
    this.db = new Database(file, { timeout: options.busyTimeoutMs ?? 30_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`foreign_keys = ${options.foreignKeys ? 'ON' : 'OFF'}`);
  }

  private stmt(sql: string): Stmt {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private allSync<T extends Row>(sql: string, params: readonly unknown[] = []): T[] {
    const s = this.stmt(sql);
    return (s.reader ? s.all(...bind(params)) : (s.run(...bind(params)), [])) as T[];
  }

  private execSync(sql: string, params: readonly unknown[] = []): number {
    const s = this.stmt(sql);
    if (s.reader) {
      s.all(...bind(params));
      return 0;
    }
    return s.run(...bind(params)).changes;
  }

  private insertSync(op: InsertMany): void {
    const s = this.stmt(
      `INSERT INTO ${op.table} (${op.columns.join(', ')}) VALUES (${op.columns.map(() => '?').join(', ')}) ${op.suffix ?? ''}`,
    );
    for (const row of op.rows) s.run(...bind(row));
  }

  async all<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.allSync<T>(sql, params);
  }

  async exec(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.execSync(sql, params);
  }

  async insertMany(op: InsertMany): Promise<void> {
    this.insertSync(op);
  }

  tx<T>(fn: (q: SqlQuerier) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const run = async (): Promise<T> => {
      this.db.exec(options.snapshot ? 'BEGIN' : 'BEGIN IMMEDIATE');
      try {
        const out = await fn(this);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  txSync(statements: readonly ({ readonly sql: string; readonly params: readonly unknown[] } | InsertMany)[]): void {
    // On exit an async transaction may be open (its awaits will never resume): write inside it, then commit.
    const nested = this.db.inTransaction;
    if (!nested) this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const s of statements) 'table' in s ? this.insertSync(s) : this.execSync(s.sql, s.params);
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.db.open) this.db.close();
  }
}
