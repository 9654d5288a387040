// SqlDriver over node-postgres: a pool whose connections use one schema (search_path), `?` placeholders rewritten to $n.
import pg from 'pg';
import { checkBindable, type InsertMany, type Row, type SqlDriver, type SqlQuerier, type TxOptions } from './driver.js';

const MAX_PARAMS = 30_000;

/** `a = ? AND b = ?` -> `a = $1 AND b = $2` (the store's SQL has no `?` inside string literals). */
function toDollar(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const bind = (params: readonly unknown[]): unknown[] => (
  checkBindable(params), params.map((p) => (typeof p === 'number' && !Number.isFinite(p) ? String(p) : p))
);

class PgQuerier implements SqlQuerier {
  constructor(private readonly client: pg.Pool | pg.PoolClient) {}

  async all<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.client.query(toDollar(sql), bind(params))).rows as T[];
  }

  async exec(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.client.query(toDollar(sql), bind(params))).rowCount ?? 0;
  }

  async insertMany(op: InsertMany): Promise<void> {
    const per = Math.max(1, Math.floor(MAX_PARAMS / op.columns.length));
    for (let i = 0; i < op.rows.length; i += per) {
      const chunk = op.rows.slice(i, i + per);
      const values = chunk.map((r) => `(${r.map(() => '?').join(',')})`).join(',');
      await this.exec(
        `INSERT INTO ${op.table} (${op.columns.join(', ')}) VALUES ${values} ${op.suffix ?? ''}`,
        chunk.flat(),
      );
    }
  }
}

export class PostgresDriver extends PgQuerier implements SqlDriver {
  readonly dialect = 'postgres' as const;

  private constructor(private readonly pool: pg.Pool) {
    super(pool);
  }

  /** Connects to `url` with every connection using `schema` (created if missing). */
  static async open(
    url: string,
    schema: string,
    options: { readonly max?: number; readonly connectionTimeoutMillis?: number } = {},
  ): Promise<PostgresDriver> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new Error(`postgres schema '${schema}' is not a plain lower-case identifier`);
    const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.connectionTimeoutMillis });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (err) {
      // Two processes creating the schema at once: one wins, the other sees a duplicate.
      if ((err as { code?: string }).code !== '23505' && (err as { code?: string }).code !== '42P06') throw err;
    } finally {
      await admin.end();
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 4,
      connectionTimeoutMillis: options.connectionTimeoutMillis,
      options: `-c search_path=${schema}`,
    });
    pool.on('error', () => undefined); // an idle client dropped by the server is replaced on next use
    return new PostgresDriver(pool);
  }

  async tx<T>(fn: (q: SqlQuerier) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(options.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
      const out = await fn(new PgQuerier(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
