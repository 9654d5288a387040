// Shared helpers of the tune tests: temporary storages (memory, SQLite, PostgreSQL) and config files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import YAML from 'yaml';

const PG_BASE = process.env.LATHE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const objectiveFixture = resolve(process.cwd(), 'test/fixtures/tune/objective.js');

export interface TempStorage {
  readonly url: string;
  cleanup(): Promise<void>;
}

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-tune-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function tempSqlite(): TempStorage {
  const t = tempDir();
  return { url: `sqlite:///${join(t.dir, 'study.db')}`, cleanup: async () => t.cleanup() };
}

let pgOk: boolean | undefined;
/** Whether PostgreSQL answers at PG_BASE (suites skip with a message when it does not). */
export async function pgAvailable(): Promise<boolean> {
  if (pgOk !== undefined) return pgOk;
  const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    pgOk = true;
  } catch {
    pgOk = false;
  } finally {
    await c.end().catch(() => undefined);
  }
  return pgOk;
}

/** A fresh schema in the `test` database, dropped by cleanup(). */
export function tempPostgres(): TempStorage {
  const schema = `lathe_tune_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    url: `${PG_BASE}?schema=${schema}`,
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_BASE });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** Writes a tune config (YAML) into `dir` and returns its path. */
export function writeConfig(dir: string, cfg: Record<string, unknown>, name = 'tune.yaml'): string {
  const p = join(dir, name);
  writeFileSync(p, YAML.stringify(cfg));
  return p;
}
