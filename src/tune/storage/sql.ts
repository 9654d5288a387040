// The SQL storage of studies, written once over the shared SQL layer (src/util/sql/): SQLite (the embedded default:
// WAL journal, one IMMEDIATE transaction per write, so worker processes on one file take turns and readers never
// block) and PostgreSQL (many processes or machines on one study; tables in one schema, URL parameter `schema`,
// default `lathe_tune`). Time comes from the database clock, so heartbeats compare across machines. PostgreSQL
// claims WAITING trials with `FOR UPDATE SKIP LOCKED`; creating and finishing a trial lock the study row, which
// serializes trial numbers, the budget check and the finish order that `finishedSince` pages through.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DIALECTS, type DialectSql, type Row, type SqlDriver, type SqlQuerier } from '../../util/sql/driver.js';
import { PostgresDriver } from '../../util/sql/postgres.js';
import { SqliteDriver } from '../../util/sql/sqlite.js';
import { StorageError } from '../errors.js';
import type { Direction, FrozenTrial, JsonValue, TrialCounts, TrialState } from '../types.js';
import { assemble, encodeValues, type IntermediateRow, type ParamRow, type TrialRow } from './rows.js';
import {
  toCounts,
  type FinishedPage,
  type NewParam,
  type NewTrial,
  type Storage,
  type StudyRecord,
} from './storage.js';

/** One DDL for both dialects; the column types that differ come from the dialect. */
const schema = (d: DialectSql): string[] => [
  `CREATE TABLE IF NOT EXISTS tune_studies (
    id ${d.serialKey}, name TEXT NOT NULL UNIQUE, directions TEXT NOT NULL,
    user_attrs ${d.json} NOT NULL DEFAULT '{}', system_attrs ${d.json} NOT NULL DEFAULT '{}', created_at BIGINT NOT NULL,
    next_number INTEGER NOT NULL DEFAULT 0, finish_seq BIGINT NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS tune_trials (
    id ${d.serialKey}, study_id BIGINT NOT NULL REFERENCES tune_studies(id) ON DELETE CASCADE,
    number INTEGER NOT NULL, state TEXT NOT NULL, vals TEXT, user_attrs ${d.json} NOT NULL DEFAULT '{}', system_attrs ${d.json} NOT NULL DEFAULT '{}',
    started_at BIGINT, completed_at BIGINT, heartbeat_at BIGINT, worker TEXT, retried_by INTEGER, retry_of INTEGER,
    finish_seq BIGINT NOT NULL DEFAULT 0, UNIQUE (study_id, number))`,
  `CREATE INDEX IF NOT EXISTS tune_trials_finished ON tune_trials (study_id, finish_seq)`,
  `CREATE INDEX IF NOT EXISTS tune_trials_state ON tune_trials (study_id, state)`,
  `CREATE TABLE IF NOT EXISTS tune_params (
    trial_id BIGINT NOT NULL REFERENCES tune_trials(id) ON DELETE CASCADE, name TEXT NOT NULL, internal DOUBLE PRECISION NOT NULL,
    distribution ${d.json} NOT NULL, PRIMARY KEY (trial_id, name))`,
  `CREATE TABLE IF NOT EXISTS tune_intermediate (
    trial_id BIGINT NOT NULL REFERENCES tune_trials(id) ON DELETE CASCADE, step INTEGER NOT NULL, value DOUBLE PRECISION,
    PRIMARY KEY (trial_id, step))`,
];

/** Advisory lock key under which PostgreSQL openers create the tables one at a time. */
const DDL_LOCK = 72736101;

const json = <T>(x: unknown): T => (typeof x === 'string' ? (JSON.parse(x) as T) : (x as T));
const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

function studyRecord(r: Row): StudyRecord {
  return {
    id: Number(r.id),
    name: String(r.name),
    directions: JSON.parse(String(r.directions)) as Direction[],
    userAttrs: json(r.user_attrs),
    systemAttrs: json(r.system_attrs),
    createdAt: Number(r.created_at),
  };
}

/**
 * Study storage in SQLite (the embedded default; worker processes on one file take turns) or PostgreSQL (many processes
 * or machines on one study), implementing the {@link Storage} contract with the database clock for heartbeats.
 */
export class SqlStorage implements Storage {
  readonly kind: 'sqlite' | 'postgres';
  private readonly d: DialectSql;
  /** How errors name this storage. */
  private readonly where: string;

  private constructor(
    readonly url: string,
    private readonly db: SqlDriver,
  ) {
    this.kind = db.dialect;
    this.d = DIALECTS[db.dialect];
    this.where = db.dialect === 'sqlite' ? url : 'the PostgreSQL storage';
  }

  /** Opens (creating folder, file and tables) an SQLite storage. */
  static async openSqlite(path: string): Promise<SqlStorage> {
    const file = resolve(path);
    let db: SqliteDriver | undefined;
    try {
      mkdirSync(dirname(file), { recursive: true });
      db = new SqliteDriver(file, { foreignKeys: true });
      const s = new SqlStorage(`sqlite:///${file}`, db);
      await s.migrate();
      return s;
    } catch (err) {
      await db?.close().catch(() => undefined);
      throw new StorageError(`cannot open SQLite storage '${file}': ${(err as Error).message}`, { cause: err });
    }
  }

  /** Connects to PostgreSQL and creates schema and tables; an unreachable server gives a StorageError naming host, port and database. */
  static async openPostgres(url: string): Promise<SqlStorage> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StorageError(`invalid PostgreSQL URL '${url}'`);
    }
    const schemaName = u.searchParams.get('schema') ?? 'lathe_tune';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schemaName))
      throw new StorageError(`PostgreSQL URL: schema '${schemaName}' must be lowercase letters, digits and _`);
    u.searchParams.delete('schema');
    const where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
    let db: PostgresDriver | undefined;
    try {
      db = await PostgresDriver.open(u.toString(), schemaName, { connectionTimeoutMillis: 5000 });
      const s = new SqlStorage(url, db);
      await s.migrate();
      return s;
    } catch (err) {
      await db?.close().catch(() => undefined);
      const e = err as NodeJS.ErrnoException;
      throw new StorageError(
        `cannot reach PostgreSQL storage at ${where}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim(),
        { cause: err },
      );
    }
  }

  private async migrate(): Promise<void> {
    await this.db.tx(async (q) => {
      const lock = this.d.ddlLock(DDL_LOCK);
      if (lock) await q.all(lock);
      for (const ddl of schema(this.d)) await q.exec(ddl);
    });
  }

  async createStudy(
    name: string,
    directions: readonly Direction[],
    opts: { loadIfExists?: boolean } = {},
  ): Promise<StudyRecord> {
    return this.db.tx(async (q) => {
      const made = await q.all(
        `INSERT INTO tune_studies (name, directions, created_at) VALUES (?, ?, ${this.d.nowMs}) ON CONFLICT (name) DO NOTHING RETURNING *`,
        [name, JSON.stringify(directions)],
      );
      if (made.length > 0) return studyRecord(made[0]);
      if (!opts.loadIfExists) throw new StorageError(`study '${name}' already exists in ${this.where}`);
      const rec = studyRecord((await q.all('SELECT * FROM tune_studies WHERE name = ?', [name]))[0]);
      if (rec.directions.join() !== directions.join())
        throw new StorageError(
          `study '${name}' exists with directions [${rec.directions.join(', ')}], not [${directions.join(', ')}]`,
        );
      return rec;
    });
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    const r = await this.db.all('SELECT * FROM tune_studies WHERE name = ?', [name]);
    return r[0] ? studyRecord(r[0]) : undefined;
  }

  async listStudies(): Promise<readonly StudyRecord[]> {
    return (await this.db.all('SELECT * FROM tune_studies ORDER BY id')).map(studyRecord);
  }

  async deleteStudy(name: string): Promise<void> {
    const n = await this.db.tx((q) => q.exec('DELETE FROM tune_studies WHERE name = ?', [name]));
    if (n === 0) throw new StorageError(`study '${name}' not found in ${this.where}`);
  }

  /** Sets one key of a JSON attribute column: read, change, write back, under the row lock of the transaction. */
  private async setJsonKey(
    q: SqlQuerier,
    table: 'tune_studies' | 'tune_trials',
    col: 'user_attrs' | 'system_attrs',
    id: number,
    key: string,
    value: JsonValue,
  ): Promise<boolean> {
    const rows = await q.all(`SELECT ${col} AS attrs FROM ${table} WHERE id = ?${this.d.forUpdate}`, [id]);
    if (rows.length === 0) return false;
    const attrs = { ...json<Record<string, JsonValue>>(rows[0].attrs), [key]: value };
    await q.exec(`UPDATE ${table} SET ${col} = ? WHERE id = ?`, [JSON.stringify(attrs), id]);
    return true;
  }

  async setStudyAttr(studyId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void> {
    const found = await this.db.tx((q) =>
      this.setJsonKey(q, 'tune_studies', kind === 'user' ? 'user_attrs' : 'system_attrs', studyId, key, value),
    );
    if (!found) throw new StorageError(`study id ${studyId} not found in ${this.where}`);
  }

  async createTrial(studyId: number, t: NewTrial, maxTrials?: number): Promise<FrozenTrial | null> {
    const id = await this.db.tx((q) => this.insertTrial(q, studyId, t, maxTrials));
    return id === null ? null : this.getTrial(id);
  }

  private async insertTrial(q: SqlQuerier, studyId: number, t: NewTrial, maxTrials?: number): Promise<number | null> {
    const lock = await q.all(`SELECT id FROM tune_studies WHERE id = ?${this.d.forUpdate}`, [studyId]);
    if (lock.length === 0) throw new StorageError(`study id ${studyId} not found in ${this.where}`);
    if (maxTrials !== undefined && (await this.countsWith(q, studyId)).budget >= maxTrials) return null;
    const n = Number(
      (
        await q.all(
          'UPDATE tune_studies SET next_number = next_number + 1 WHERE id = ? RETURNING next_number - 1 AS n',
          [studyId],
        )
      )[0].n,
    );
    const running = t.state === 'RUNNING';
    const r = await q.all(
      `INSERT INTO tune_trials (study_id, number, state, user_attrs, system_attrs, started_at, worker) VALUES (?, ?, ?, ?, ?, ${running ? this.d.nowMs : 'NULL'}, ?) RETURNING id`,
      [
        studyId,
        n,
        t.state,
        JSON.stringify(t.userAttrs ?? {}),
        JSON.stringify(t.systemAttrs ?? {}),
        running ? (t.worker ?? null) : null,
      ],
    );
    const id = Number(r[0].id);
    const params = Object.entries(t.params ?? {});
    if (params.length > 0)
      await q.insertMany({
        table: 'tune_params',
        columns: ['trial_id', 'name', 'internal', 'distribution'],
        rows: params.map(([name, p]) => [id, name, p.internal, JSON.stringify(p.distribution)]),
      });
    return id;
  }

  async claimWaiting(studyId: number, worker: string): Promise<FrozenTrial | null> {
    const r = await this.db.tx((q) =>
      q.all(
        `UPDATE tune_trials SET state = 'RUNNING', worker = ?, started_at = ${this.d.nowMs}
       WHERE id = (SELECT id FROM tune_trials WHERE study_id = ? AND state = 'WAITING' ORDER BY number LIMIT 1${this.d.skipLocked}) AND state = 'WAITING'
       RETURNING id`,
        [worker, studyId],
      ),
    );
    return r[0] ? this.getTrial(Number(r[0].id)) : null;
  }

  async setParam(trialId: number, name: string, param: NewParam): Promise<void> {
    await this.db.tx(async (q) => {
      await this.mustRun(q, trialId, 'set a parameter of');
      await q.exec(
        'INSERT INTO tune_params (trial_id, name, internal, distribution) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, name) DO UPDATE SET internal = excluded.internal, distribution = excluded.distribution',
        [trialId, name, param.internal, JSON.stringify(param.distribution)],
      );
    });
  }

  async reportIntermediate(trialId: number, step: number, value: number): Promise<void> {
    await this.db.tx(async (q) => {
      await this.mustRun(q, trialId, 'report to');
      await q.exec(
        'INSERT INTO tune_intermediate (trial_id, step, value) VALUES (?, ?, ?) ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value',
        [trialId, step, Number.isNaN(value) ? null : value],
      );
    });
  }

  async setTrialAttr(trialId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void> {
    await this.db.tx(async (q) => {
      await this.mustRun(q, trialId, 'set an attribute of');
      await this.setJsonKey(q, 'tune_trials', kind === 'user' ? 'user_attrs' : 'system_attrs', trialId, key, value);
    });
  }

  async finishTrial(
    trialId: number,
    state: 'COMPLETE' | 'PRUNED' | 'FAILED',
    values: readonly number[] | null,
  ): Promise<boolean> {
    return this.db.tx((q) => this.finish(q, trialId, state, values, null));
  }

  private async finish(
    q: SqlQuerier,
    trialId: number,
    state: 'COMPLETE' | 'PRUNED' | 'FAILED',
    values: readonly number[] | null,
    reason: string | null,
  ): Promise<boolean> {
    const row = (await q.all('SELECT study_id FROM tune_trials WHERE id = ?', [trialId]))[0];
    if (!row) throw new StorageError(`trial id ${trialId} not found in ${this.where}`);
    // Lock order: study row, then trial row (as createTrial does), so finishers never deadlock.
    await q.all(`SELECT id FROM tune_studies WHERE id = ?${this.d.forUpdate}`, [row.study_id]);
    const cur = (await q.all(`SELECT state FROM tune_trials WHERE id = ?${this.d.forUpdate}`, [trialId]))[0];
    if (cur.state !== 'RUNNING') return false;
    const seq = Number(
      (
        await q.all('UPDATE tune_studies SET finish_seq = finish_seq + 1 WHERE id = ? RETURNING finish_seq AS s', [
          row.study_id,
        ])
      )[0].s,
    );
    await q.exec(
      `UPDATE tune_trials SET state = ?, vals = ?, completed_at = ${this.d.nowMs}, finish_seq = ? WHERE id = ?`,
      [state, state === 'COMPLETE' ? encodeValues(values) : null, seq, trialId],
    );
    if (reason !== null) await this.setJsonKey(q, 'tune_trials', 'system_attrs', trialId, 'fail_reason', reason);
    return true;
  }

  async heartbeat(trialId: number): Promise<void> {
    await this.db.tx((q) =>
      q.exec(`UPDATE tune_trials SET heartbeat_at = ${this.d.nowMs} WHERE id = ? AND state = 'RUNNING'`, [trialId]),
    );
  }

  async failStale(studyId: number, graceMs: number, maxRetries: number): Promise<readonly FrozenTrial[]> {
    const ids = await this.db.tx(async (q) => {
      await q.all(`SELECT id FROM tune_studies WHERE id = ?${this.d.forUpdate}`, [studyId]);
      const stale = await q.all(
        `SELECT id, number, retry_of FROM tune_trials WHERE study_id = ? AND state = 'RUNNING' AND COALESCE(heartbeat_at, started_at) < ${this.d.nowMs} - ? ORDER BY number`,
        [studyId, Math.round(graceMs)],
      );
      for (const s of stale) {
        await this.finish(q, Number(s.id), 'FAILED', null, 'heartbeat');
        // retries of this parameter set so far: the length of its retry_of chain
        let retries = 0;
        for (let prev = s.retry_of; prev !== null && prev !== undefined && retries < maxRetries; retries++) {
          prev = (await q.all('SELECT retry_of FROM tune_trials WHERE study_id = ? AND number = ?', [studyId, prev]))[0]
            ?.retry_of;
        }
        if (retries >= maxRetries) continue;
        const params = await q.all<ParamRow & Row>(
          'SELECT name, internal, distribution FROM tune_params WHERE trial_id = ?',
          [s.id],
        );
        const copy = (await this.insertTrial(q, studyId, {
          state: 'WAITING',
          params: Object.fromEntries(
            params.map((p) => [
              p.name,
              { internal: Number(p.internal), distribution: json<NewParam['distribution']>(p.distribution) },
            ]),
          ),
        }))!;
        const n = Number(
          (await q.all('UPDATE tune_trials SET retry_of = ? WHERE id = ? RETURNING number', [s.number, copy]))[0]
            .number,
        );
        await q.exec('UPDATE tune_trials SET retried_by = ? WHERE id = ?', [n, s.id]);
      }
      return stale.map((s) => Number(s.id));
    });
    return ids.length ? this.load(this.db, `id IN (${marks(ids.length)})`, ids, 'number') : [];
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    const [t] = await this.load(this.db, 'id = ?', [trialId], 'number');
    if (!t) throw new StorageError(`trial id ${trialId} not found in ${this.where}`);
    return t;
  }

  async getTrials(studyId: number, states?: readonly TrialState[]): Promise<readonly FrozenTrial[]> {
    if (!states) return this.load(this.db, 'study_id = ?', [studyId], 'number');
    if (states.length === 0) return [];
    return this.load(this.db, `study_id = ? AND state IN (${marks(states.length)})`, [studyId, ...states], 'number');
  }

  async finishedSince(studyId: number, cursor: number): Promise<FinishedPage> {
    let last = cursor;
    // One snapshot for the three queries, so params and values match the rows.
    const trials = await this.db.tx(
      (q) =>
        this.load(q, 'study_id = ? AND finish_seq > ?', [studyId, cursor], 'finish_seq', (rows) => {
          for (const r of rows)
            last = Math.max(last, Number((r as TrialRow & { finish_seq: number | string }).finish_seq));
        }),
      { snapshot: true },
    );
    return { trials, cursor: last };
  }

  async counts(studyId: number): Promise<TrialCounts> {
    return this.countsWith(this.db, studyId);
  }

  private async countsWith(q: SqlQuerier, studyId: number): Promise<TrialCounts> {
    const rows = await q.all(
      'SELECT state, COUNT(*) AS n, COUNT(retried_by) AS rq FROM tune_trials WHERE study_id = ? GROUP BY state',
      [studyId],
    );
    return toCounts(
      Object.fromEntries(rows.map((r) => [String(r.state), Number(r.n)])),
      rows.reduce((a, r) => a + Number(r.rq), 0),
    );
  }

  async close(): Promise<void> {
    await this.db.close().catch(() => undefined);
  }

  private async mustRun(q: SqlQuerier, trialId: number, what: string): Promise<void> {
    const r = (await q.all(`SELECT state, number FROM tune_trials WHERE id = ?${this.d.forShare}`, [trialId]))[0];
    if (!r) throw new StorageError(`trial id ${trialId} not found in ${this.where}`);
    if (r.state !== 'RUNNING')
      throw new StorageError(`cannot ${what} trial ${Number(r.number)}: it is ${String(r.state)}`);
  }

  /** Trials matching `where` (ordered by `order`), with their params and intermediate values (one query each). */
  private async load(
    q: SqlQuerier,
    where: string,
    args: readonly unknown[],
    order: 'number' | 'finish_seq',
    seen?: (rows: readonly TrialRow[]) => void,
  ): Promise<FrozenTrial[]> {
    const rows = await q.all<TrialRow & Row>(`SELECT * FROM tune_trials WHERE ${where} ORDER BY ${order}`, args);
    seen?.(rows);
    if (rows.length === 0) return [];
    const sub = `SELECT id FROM tune_trials WHERE ${where}`;
    const [params, inter] = [
      await q.all<ParamRow & Row>(`SELECT * FROM tune_params WHERE trial_id IN (${sub})`, args),
      await q.all<IntermediateRow & Row>(
        `SELECT * FROM tune_intermediate WHERE trial_id IN (${sub}) ORDER BY trial_id, step`,
        args,
      ),
    ];
    return assemble(rows, params, inter);
  }
}
