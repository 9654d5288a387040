// PostgreSQL storage (pg): for many processes or machines on one study. Tables live in one schema (URL parameter
// `schema`, default `lathe_tune`); time comes from the database clock, so heartbeats compare across machines.
// Claims use `FOR UPDATE SKIP LOCKED`; creating and finishing a trial lock the study row, which serializes trial
// numbers, the budget check and the finish order that `finishedSince` pages through.
import pg from 'pg';
import { StorageError } from '../errors.js';
import type { Direction, FrozenTrial, JsonValue, TrialCounts, TrialState } from '../types.js';
import { assemble, encodeValues, type IntermediateRow, type ParamRow, type TrialRow } from './rows.js';
import { toCounts, type FinishedPage, type NewParam, type NewTrial, type Storage, type StudyRecord } from './storage.js';

const NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

const ddl = (s: string): string => `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.tune_studies (
  id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, directions TEXT NOT NULL,
  user_attrs JSONB NOT NULL DEFAULT '{}', system_attrs JSONB NOT NULL DEFAULT '{}', created_at BIGINT NOT NULL,
  next_number INTEGER NOT NULL DEFAULT 0, finish_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ${s}.tune_trials (
  id BIGSERIAL PRIMARY KEY, study_id BIGINT NOT NULL REFERENCES ${s}.tune_studies(id) ON DELETE CASCADE,
  number INTEGER NOT NULL, state TEXT NOT NULL, vals TEXT, user_attrs JSONB NOT NULL DEFAULT '{}', system_attrs JSONB NOT NULL DEFAULT '{}',
  started_at BIGINT, completed_at BIGINT, heartbeat_at BIGINT, worker TEXT, retried_by INTEGER, retry_of INTEGER,
  finish_seq BIGINT NOT NULL DEFAULT 0, UNIQUE (study_id, number));
CREATE INDEX IF NOT EXISTS tune_trials_finished ON ${s}.tune_trials (study_id, finish_seq);
CREATE INDEX IF NOT EXISTS tune_trials_state ON ${s}.tune_trials (study_id, state);
CREATE TABLE IF NOT EXISTS ${s}.tune_params (
  trial_id BIGINT NOT NULL REFERENCES ${s}.tune_trials(id) ON DELETE CASCADE, name TEXT NOT NULL, internal DOUBLE PRECISION NOT NULL,
  distribution JSONB NOT NULL, PRIMARY KEY (trial_id, name));
CREATE TABLE IF NOT EXISTS ${s}.tune_intermediate (
  trial_id BIGINT NOT NULL REFERENCES ${s}.tune_trials(id) ON DELETE CASCADE, step INTEGER NOT NULL, value DOUBLE PRECISION,
  PRIMARY KEY (trial_id, step));
`;

interface StudyRow {
  id: string;
  name: string;
  directions: string;
  user_attrs: Record<string, JsonValue>;
  system_attrs: Record<string, JsonValue>;
  created_at: string;
}

type Q = pg.Pool | pg.PoolClient;

export class PostgresStorage implements Storage {
  readonly kind = 'postgres' as const;

  private constructor(readonly url: string, private readonly pool: pg.Pool, private readonly s: string) {}

  /** Connects and creates the schema; an unreachable server gives a StorageError naming host, port and database. */
  static async open(url: string): Promise<PostgresStorage> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StorageError(`invalid PostgreSQL URL '${url}'`);
    }
    const schema = u.searchParams.get('schema') ?? 'lathe_tune';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new StorageError(`PostgreSQL URL: schema '${schema}' must be lowercase letters, digits and _`);
    u.searchParams.delete('schema');
    const where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
    const pool = new pg.Pool({ connectionString: u.toString(), max: 4, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined); // idle-client errors surface on the next query instead of crashing the process
    const store = new PostgresStorage(url, pool, schema);
    let c: pg.PoolClient | undefined;
    try {
      c = await pool.connect();
      await c.query('SELECT pg_advisory_lock(72736101)');
      try {
        await c.query(ddl(schema));
      } finally {
        await c.query('SELECT pg_advisory_unlock(72736101)');
      }
    } catch (err) {
      c?.release();
      c = undefined;
      await pool.end().catch(() => undefined);
      const e = err as NodeJS.ErrnoException;
      throw new StorageError(`cannot reach PostgreSQL storage at ${where}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim(), { cause: err });
    } finally {
      c?.release();
    }
    return store;
  }

  private t(name: string): string {
    return `${this.s}.${name}`;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async createStudy(name: string, directions: readonly Direction[], opts: { loadIfExists?: boolean } = {}): Promise<StudyRecord> {
    await this.pool.query(`INSERT INTO ${this.t('tune_studies')} (name, directions, created_at) VALUES ($1, $2, ${NOW}) ON CONFLICT (name) DO NOTHING`, [name, JSON.stringify(directions)]).then(
      (r) => {
        if (r.rowCount === 0 && !opts.loadIfExists) throw new StorageError(`study '${name}' already exists in the PostgreSQL storage`);
      },
    );
    const rec = (await this.getStudy(name))!;
    if (rec.directions.join() !== directions.join()) throw new StorageError(`study '${name}' exists with directions [${rec.directions.join(', ')}], not [${directions.join(', ')}]`);
    return rec;
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    const r = await this.pool.query<StudyRow>(`SELECT * FROM ${this.t('tune_studies')} WHERE name = $1`, [name]);
    return r.rows[0] ? studyRecord(r.rows[0]) : undefined;
  }

  async listStudies(): Promise<readonly StudyRecord[]> {
    return (await this.pool.query<StudyRow>(`SELECT * FROM ${this.t('tune_studies')} ORDER BY id`)).rows.map(studyRecord);
  }

  async deleteStudy(name: string): Promise<void> {
    const r = await this.pool.query(`DELETE FROM ${this.t('tune_studies')} WHERE name = $1`, [name]);
    if (r.rowCount === 0) throw new StorageError(`study '${name}' not found in the PostgreSQL storage`);
  }

  async setStudyAttr(studyId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void> {
    const col = kind === 'user' ? 'user_attrs' : 'system_attrs';
    const r = await this.pool.query(`UPDATE ${this.t('tune_studies')} SET ${col} = ${col} || jsonb_build_object($1::text, $2::jsonb) WHERE id = $3`, [key, JSON.stringify(value), studyId]);
    if (r.rowCount === 0) throw new StorageError(`study id ${studyId} not found in the PostgreSQL storage`);
  }

  async createTrial(studyId: number, t: NewTrial, maxTrials?: number): Promise<FrozenTrial | null> {
    const id = await this.tx((c) => this.insertTrial(c, studyId, t, maxTrials));
    return id === null ? null : this.getTrial(id);
  }

  private async insertTrial(c: pg.PoolClient, studyId: number, t: NewTrial, maxTrials?: number): Promise<number | null> {
    const lock = await c.query(`SELECT id FROM ${this.t('tune_studies')} WHERE id = $1 FOR UPDATE`, [studyId]);
    if (lock.rowCount === 0) throw new StorageError(`study id ${studyId} not found in the PostgreSQL storage`);
    if (maxTrials !== undefined && (await this.countsWith(c, studyId)).budget >= maxTrials) return null;
    const n = (await c.query<{ n: number }>(`UPDATE ${this.t('tune_studies')} SET next_number = next_number + 1 WHERE id = $1 RETURNING next_number - 1 AS n`, [studyId])).rows[0].n;
    const running = t.state === 'RUNNING';
    const r = await c.query<{ id: string }>(
      `INSERT INTO ${this.t('tune_trials')} (study_id, number, state, user_attrs, system_attrs, started_at, worker) VALUES ($1, $2, $3, $4, $5, ${running ? NOW : 'NULL'}, $6) RETURNING id`,
      [studyId, n, t.state, JSON.stringify(t.userAttrs ?? {}), JSON.stringify(t.systemAttrs ?? {}), running ? (t.worker ?? null) : null],
    );
    const id = Number(r.rows[0].id);
    for (const [name, p] of Object.entries(t.params ?? {})) {
      await c.query(`INSERT INTO ${this.t('tune_params')} (trial_id, name, internal, distribution) VALUES ($1, $2, $3, $4)`, [id, name, p.internal, JSON.stringify(p.distribution)]);
    }
    return id;
  }

  async claimWaiting(studyId: number, worker: string): Promise<FrozenTrial | null> {
    const r = await this.pool.query<{ id: string }>(
      `UPDATE ${this.t('tune_trials')} SET state = 'RUNNING', worker = $1, started_at = ${NOW}
       WHERE id = (SELECT id FROM ${this.t('tune_trials')} WHERE study_id = $2 AND state = 'WAITING' ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [worker, studyId],
    );
    return r.rows[0] ? this.getTrial(Number(r.rows[0].id)) : null;
  }

  async setParam(trialId: number, name: string, param: NewParam): Promise<void> {
    await this.tx(async (c) => {
      await this.mustRun(c, trialId, 'set a parameter of');
      await c.query(
        `INSERT INTO ${this.t('tune_params')} (trial_id, name, internal, distribution) VALUES ($1, $2, $3, $4)
         ON CONFLICT (trial_id, name) DO UPDATE SET internal = excluded.internal, distribution = excluded.distribution`,
        [trialId, name, param.internal, JSON.stringify(param.distribution)],
      );
    });
  }

  async reportIntermediate(trialId: number, step: number, value: number): Promise<void> {
    await this.tx(async (c) => {
      await this.mustRun(c, trialId, 'report to');
      await c.query(`INSERT INTO ${this.t('tune_intermediate')} (trial_id, step, value) VALUES ($1, $2, $3) ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value`, [trialId, step, Number.isNaN(value) ? null : value]);
    });
  }

  async setTrialAttr(trialId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void> {
    const col = kind === 'user' ? 'user_attrs' : 'system_attrs';
    await this.tx(async (c) => {
      await this.mustRun(c, trialId, 'set an attribute of');
      await c.query(`UPDATE ${this.t('tune_trials')} SET ${col} = ${col} || jsonb_build_object($1::text, $2::jsonb) WHERE id = $3`, [key, JSON.stringify(value), trialId]);
    });
  }

  async finishTrial(trialId: number, state: 'COMPLETE' | 'PRUNED' | 'FAILED', values: readonly number[] | null): Promise<boolean> {
    return this.tx((c) => this.finish(c, trialId, state, values, null));
  }

  private async finish(c: pg.PoolClient, trialId: number, state: 'COMPLETE' | 'PRUNED' | 'FAILED', values: readonly number[] | null, reason: string | null): Promise<boolean> {
    const row = (await c.query<{ study_id: string }>(`SELECT study_id FROM ${this.t('tune_trials')} WHERE id = $1`, [trialId])).rows[0];
    if (!row) throw new StorageError(`trial id ${trialId} not found in the PostgreSQL storage`);
    // Lock order: study row, then trial row (as createTrial does), so finishers never deadlock.
    await c.query(`SELECT id FROM ${this.t('tune_studies')} WHERE id = $1 FOR UPDATE`, [row.study_id]);
    const cur = (await c.query<{ state: string }>(`SELECT state FROM ${this.t('tune_trials')} WHERE id = $1 FOR UPDATE`, [trialId])).rows[0];
    if (cur.state !== 'RUNNING') return false;
    const seq = (await c.query<{ s: string }>(`UPDATE ${this.t('tune_studies')} SET finish_seq = finish_seq + 1 WHERE id = $1 RETURNING finish_seq AS s`, [row.study_id])).rows[0].s;
    await c.query(
      `UPDATE ${this.t('tune_trials')} SET state = $1, vals = $2, completed_at = ${NOW}, finish_seq = $3,
       system_attrs = CASE WHEN $4::text IS NULL THEN system_attrs ELSE system_attrs || jsonb_build_object('fail_reason', $4::text) END
       WHERE id = $5`,
      [state, state === 'COMPLETE' ? encodeValues(values) : null, seq, reason, trialId],
    );
    return true;
  }

  async heartbeat(trialId: number): Promise<void> {
    await this.pool.query(`UPDATE ${this.t('tune_trials')} SET heartbeat_at = ${NOW} WHERE id = $1 AND state = 'RUNNING'`, [trialId]);
  }

  async failStale(studyId: number, graceMs: number, requeue: boolean): Promise<readonly FrozenTrial[]> {
    const ids = await this.tx(async (c) => {
      await c.query(`SELECT id FROM ${this.t('tune_studies')} WHERE id = $1 FOR UPDATE`, [studyId]);
      const stale = (await c.query<{ id: string; number: number }>(
        `SELECT id, number FROM ${this.t('tune_trials')} WHERE study_id = $1 AND state = 'RUNNING' AND COALESCE(heartbeat_at, started_at) < ${NOW} - $2 ORDER BY number`,
        [studyId, Math.round(graceMs)],
      )).rows;
      for (const s of stale) {
        await this.finish(c, Number(s.id), 'FAILED', null, 'heartbeat');
        if (!requeue) continue;
        const params = (await c.query<ParamRow>(`SELECT name, internal, distribution FROM ${this.t('tune_params')} WHERE trial_id = $1`, [s.id])).rows;
        const copy = (await this.insertTrial(c, studyId, { state: 'WAITING', params: Object.fromEntries(params.map((p) => [p.name, { internal: p.internal, distribution: p.distribution as NewParam['distribution'] }])) }))!;
        const n = (await c.query<{ number: number }>(`UPDATE ${this.t('tune_trials')} SET retry_of = $1 WHERE id = $2 RETURNING number`, [s.number, copy])).rows[0].number;
        await c.query(`UPDATE ${this.t('tune_trials')} SET retried_by = $1 WHERE id = $2`, [n, s.id]);
      }
      return stale.map((s) => Number(s.id));
    });
    return ids.length ? this.load(this.pool, 'id = ANY($1::bigint[]) ORDER BY number', [ids]) : [];
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    const [t] = await this.load(this.pool, 'id = $1', [trialId]);
    if (!t) throw new StorageError(`trial id ${trialId} not found in the PostgreSQL storage`);
    return t;
  }

  async getTrials(studyId: number, states?: readonly TrialState[]): Promise<readonly FrozenTrial[]> {
    if (!states) return this.load(this.pool, 'study_id = $1 ORDER BY number', [studyId]);
    return this.load(this.pool, 'study_id = $1 AND state = ANY($2::text[]) ORDER BY number', [studyId, states]);
  }

  async finishedSince(studyId: number, cursor: number): Promise<FinishedPage> {
    let last = cursor;
    // One snapshot for the three queries (REPEATABLE READ), so params and values match the rows.
    const trials = await this.tx(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      return this.load(c, 'study_id = $1 AND finish_seq > $2 ORDER BY finish_seq', [studyId, cursor], (rows) => {
        for (const r of rows) last = Math.max(last, Number((r as TrialRow & { finish_seq: string }).finish_seq));
      });
    });
    return { trials, cursor: last };
  }

  async counts(studyId: number): Promise<TrialCounts> {
    return this.countsWith(this.pool, studyId);
  }

  private async countsWith(c: Q, studyId: number): Promise<TrialCounts> {
    const rows = (await c.query<{ state: TrialState; n: string; rq: string }>(`SELECT state, COUNT(*) AS n, COUNT(retried_by) AS rq FROM ${this.t('tune_trials')} WHERE study_id = $1 GROUP BY state`, [studyId])).rows;
    return toCounts(Object.fromEntries(rows.map((r) => [r.state, Number(r.n)])), rows.reduce((a, r) => a + Number(r.rq), 0));
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private async mustRun(c: pg.PoolClient, trialId: number, what: string): Promise<void> {
    const r = (await c.query<{ state: string; number: number }>(`SELECT state, number FROM ${this.t('tune_trials')} WHERE id = $1 FOR SHARE`, [trialId])).rows[0];
    if (!r) throw new StorageError(`trial id ${trialId} not found in the PostgreSQL storage`);
    if (r.state !== 'RUNNING') throw new StorageError(`cannot ${what} trial ${r.number}: it is ${r.state}`);
  }

  private async load(c: Q, where: string, args: unknown[], seen?: (rows: readonly TrialRow[]) => void): Promise<FrozenTrial[]> {
    const rows = (await c.query<TrialRow>(`SELECT * FROM ${this.t('tune_trials')} WHERE ${where}`, args)).rows;
    seen?.(rows);
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const params = (await c.query<ParamRow>(`SELECT * FROM ${this.t('tune_params')} WHERE trial_id = ANY($1::bigint[])`, [ids])).rows;
    const inter = (await c.query<IntermediateRow>(`SELECT * FROM ${this.t('tune_intermediate')} WHERE trial_id = ANY($1::bigint[]) ORDER BY trial_id, step`, [ids])).rows;
    return assemble(rows, params, inter);
  }
}

function studyRecord(r: StudyRow): StudyRecord {
  return { id: Number(r.id), name: r.name, directions: JSON.parse(r.directions), userAttrs: r.user_attrs, systemAttrs: r.system_attrs, createdAt: Number(r.created_at) };
}
