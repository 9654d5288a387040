// Shared helpers of the tracking tests: temporary stores for SQLite and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type TrackingStore } from '../../src/track/index.js';

export const PG_BASE = process.env.LATHE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TempStore {
  readonly url: string;
  readonly dir: string;
  open(): Promise<TrackingStore>;
  cleanup(): Promise<void>;
}

export function tempSqlite(): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-track-'));
  const url = join(dir, 'store');
  return { url, dir, open: () => openStore(url), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether PostgreSQL answers at PG_BASE (the suites skip with a message when it does not). */
export async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A fresh schema in the `test` database, dropped by cleanup(). */
export function tempPostgres(): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-track-pg-'));
  const schema = `lathe_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = `${PG_BASE}?schema=${schema}&artifacts=${encodeURIComponent(join(dir, 'artifacts'))}`;
  return {
    url,
    dir,
    open: () => openStore(url),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_BASE });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
