// SQLite storage (better-sqlite3): the embedded default. WAL journal, one IMMEDIATE transaction per write, so
// many worker processes on one file serialize their writes and readers never block.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StorageError } from '../errors.js';
import type { Direction, FrozenTrial, JsonValue, TrialCounts, TrialState } from '../types.js';
import { assemble, encodeValues, type IntermediateRow, type ParamRow, type TrialRow } from './rows.js';
import { toCounts, type FinishedPage, type NewParam, type NewTrial, type Storage, type StudyRecord } from './storage.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tune_studies (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, directions TEXT NOT NULL,
  user_attrs TEXT NOT NULL DEFAULT '{}', system_attrs TEXT NOT NULL DEFAULT '{}', created_at INTEGER NOT NULL,
  next_number INTEGER NOT NULL DEFAULT 0, finish_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tune_trials (
  id INTEGER PRIMARY KEY AUTOINCREMENT, study_id INTEGER NOT NULL REFERENCES tune_studies(id) ON DELETE CASCADE,
  number INTEGER NOT NULL, state TEXT NOT NULL, vals TEXT, user_attrs TEXT NOT NULL DEFAULT '{}', system_attrs TEXT NOT NULL DEFAULT '{}',
  started_at INTEGER, completed_at INTEGER, heartbeat_at INTEGER, worker TEXT, retried_by INTEGER, retry_of INTEGER,
  finish_seq INTEGER NOT NULL DEFAULT 0, UNIQUE (study_id, number));
CREATE INDEX IF NOT EXISTS tune_trials_finished ON tune_trials (study_id, finish_seq);
CREATE INDEX IF NOT EXISTS tune_trials_state ON tune_trials (study_id, state);
CREATE TABLE IF NOT EXISTS tune_params (
  trial_id INTEGER NOT NULL REFERENCES tune_trials(id) ON DELETE CASCADE, name TEXT NOT NULL, internal REAL NOT NULL,
  distribution TEXT NOT NULL, PRIMARY KEY (trial_id, name));
CREATE TABLE IF NOT EXISTS tune_intermediate (
  trial_id INTEGER NOT NULL REFERENCES tune_trials(id) ON DELETE CASCADE, step INTEGER NOT NULL, value REAL,
  PRIMARY KEY (trial_id, step));
`;

interface StudyRow {
  id: number;
  name: string;
  directions: string;
  user_attrs: string;
  system_attrs: string;
  created_at: number;
}

export class SqliteStorage implements Storage {
  readonly kind = 'sqlite' as const;
  readonly url: string;
  private readonly db: Database.Database;

  private constructor(readonly path: string) {
    this.url = `sqlite:///${path}`;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path, { timeout: 30_000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.transaction(() => this.db.exec(SCHEMA)).immediate();
    } catch (err) {
      throw new StorageError(`cannot open SQLite storage '${path}': ${(err as Error).message}`, { cause: err });
    }
  }

  static open(path: string): SqliteStorage {
    return new SqliteStorage(resolve(path));
  }

  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  async createStudy(name: string, directions: readonly Direction[], opts: { loadIfExists?: boolean } = {}): Promise<StudyRecord> {
    return this.write(() => {
      const have = this.db.prepare('SELECT * FROM tune_studies WHERE name = ?').get(name) as StudyRow | undefined;
      if (have) {
        if (!opts.loadIfExists) throw new StorageError(`study '${name}' already exists in ${this.url}`);
        const rec = studyRecord(have);
        if (rec.directions.join() !== directions.join()) throw new StorageError(`study '${name}' exists with directions [${rec.directions.join(', ')}], not [${directions.join(', ')}]`);
        return rec;
      }
      const info = this.db.prepare('INSERT INTO tune_studies (name, directions, created_at) VALUES (?, ?, ?)').run(name, JSON.stringify(directions), Date.now());
      return studyRecord(this.db.prepare('SELECT * FROM tune_studies WHERE id = ?').get(info.lastInsertRowid) as StudyRow);
    });
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM tune_studies WHERE name = ?').get(name) as StudyRow | undefined;
    return r ? studyRecord(r) : undefined;
  }

  async listStudies(): Promise<readonly StudyRecord[]> {
    return (this.db.prepare('SELECT * FROM tune_studies ORDER BY id').all() as StudyRow[]).map(studyRecord);
  }

  async deleteStudy(name: string): Promise<void> {
    const r = this.db.prepare('DELETE FROM tune_studies WHERE name = ?').run(name);
    if (r.changes === 0) throw new StorageError(`study '${name}' not found in ${this.url}`);
  }

  async setStudyAttr(studyId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void> {
    const col = kind === 'user' ? 'user_attrs' : 'system_attrs';
    const r = this.db.prepare(`UPDATE tune_studies SET ${col} = json_set(${col}, ?, json(?)) WHERE id = ?`).run(jsonPath(key), JSON.stringify(value), studyId);
    if (r.changes === 0) throw new StorageError(`study id ${studyId} not found in ${this.url}`);
  }

  async createTrial(studyId: number, t: NewTrial, maxTrials?: number): Promise<FrozenTrial | null> {
    const id = this.write(() => this.insertTrial(studyId, t, maxTrials));
    return id === null ? null : this.getTrial(id);
  }

  private insertTrial(studyId: number, t: NewTrial, maxTrials?: number): number | null {
    if (maxTrials !== undefined && this.countsSync(studyId).budget >= maxTrials) return null;
    const s = this.db.prepare('UPDATE tune_studies SET next_number = next_number + 1 WHERE id = ? RETURNING next_number - 1 AS n').get(studyId) as { n: number } | undefined;
    if (!s) throw new StorageError(`study id ${studyId} not found in ${this.url}`);
    const now = Date.now();
    const running = t.state === 'RUNNING';
    const info = this.db
      .prepare('INSERT INTO tune_trials (study_id, number, state, user_attrs, system_attrs, started_at, worker) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(studyId, s.n, t.state, JSON.stringify(t.userAttrs ?? {}), JSON.stringify(t.systemAttrs ?? {}), running ? now : null, running ? (t.worker ?? null) : null);
    const id = Number(info.lastInsertRowid);
    const ins = this.db.prepare('INSERT INTO tune_params (trial_id, name, internal, distribution) VALUES (?, ?, ?, ?)');
    for (const [name, p] of Object.entries(t.params ?? {})) ins.run(id, name, p.internal, JSON.stringify(p.distribution));
    return id;
  }

  async claimWaiting(studyId: number, worker: string): Promise<FrozenTrial | null> {
    const r = this.db
      .prepare(`UPDATE tune_trials SET state = 'RUNNING', worker = ?, started_at = ? WHERE id = (SELECT id FROM tune_trials WHERE study_id = ? AND state = 'WAITING' ORDER BY number LIMIT 1) AND state = 'WAITING' RETURNING id`)
      .get(worker, Date.now(), studyId) as { id: number } | undefined;
    return r ? this.getTrial(r.id) : null;
  }

  async setParam(trialId: number, name: string, param: NewParam): Promise<void> {
    this.write(() => {
      this.mustRun(trialId, 'set a parameter of');
      this.db
        .prepare('INSERT INTO tune_params (trial_id, name, internal, distribution) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, name) DO UPDATE SET internal = excluded.internal, distribution = excluded.distribution')
        .run(trialId, name, param.internal, JSON.stringify(param.distribution));
    });
  }

  async reportIntermediate(trialId: number, step: number, value: number): Promise<void> {
    this.write(() => {
      this.mustRun(trialId, 'report to');
      this.db.prepare('INSERT INTO tune_intermediate (trial_id, step, value) VALUES (?, ?, ?) ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value').run(trialId, step, Number.isNaN(value) ? null : value);
    });
  }

  async setTrialAttr(trialId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void> {
    const col = kind === 'user' ? 'user_attrs' : 'system_attrs';
    this.write(() => {
      this.mustRun(trialId, 'set an attribute of');
      this.db.prepare(`UPDATE tune_trials SET ${col} = json_set(${col}, ?, json(?)) WHERE id = ?`).run(jsonPath(key), JSON.stringify(value), trialId);
    });
  }

  async finishTrial(trialId: number, state: 'COMPLETE' | 'PRUNED' | 'FAILED', values: readonly number[] | null): Promise<boolean> {
    return this.write(() => this.finish(trialId, state, values, null));
  }

  private finish(trialId: number, state: 'COMPLETE' | 'PRUNED' | 'FAILED', values: readonly number[] | null, reason: string | null): boolean {
    const row = this.db.prepare('SELECT study_id, state FROM tune_trials WHERE id = ?').get(trialId) as { study_id: number; state: string } | undefined;
    if (!row) throw new StorageError(`trial id ${trialId} not found in ${this.url}`);
    if (row.state !== 'RUNNING') return false;
    const seq = (this.db.prepare('UPDATE tune_studies SET finish_seq = finish_seq + 1 WHERE id = ? RETURNING finish_seq').get(row.study_id) as { finish_seq: number }).finish_seq;
    this.db
      .prepare(`UPDATE tune_trials SET state = ?, vals = ?, completed_at = ?, finish_seq = ?, system_attrs = CASE WHEN ? IS NULL THEN system_attrs ELSE json_set(system_attrs, '$.fail_reason', ?) END WHERE id = ?`)
      .run(state, state === 'COMPLETE' ? encodeValues(values) : null, Date.now(), seq, reason, reason, trialId);
    return true;
  }

  async heartbeat(trialId: number): Promise<void> {
    this.db.prepare(`UPDATE tune_trials SET heartbeat_at = ? WHERE id = ? AND state = 'RUNNING'`).run(Date.now(), trialId);
  }

  async failStale(studyId: number, graceMs: number, requeue: boolean): Promise<readonly FrozenTrial[]> {
    const ids = this.write(() => {
      const stale = this.db
        .prepare(`SELECT id, number FROM tune_trials WHERE study_id = ? AND state = 'RUNNING' AND COALESCE(heartbeat_at, started_at) < ? ORDER BY number`)
        .all(studyId, Date.now() - graceMs) as { id: number; number: number }[];
      for (const s of stale) {
        this.finish(s.id, 'FAILED', null, 'heartbeat');
        if (!requeue) continue;
        const params = this.db.prepare('SELECT name, internal, distribution FROM tune_params WHERE trial_id = ?').all(s.id) as ParamRow[];
        const copy = this.insertTrial(studyId, { state: 'WAITING', params: Object.fromEntries(params.map((p) => [p.name, { internal: p.internal, distribution: JSON.parse(p.distribution as string) }])) })!;
        const n = (this.db.prepare('UPDATE tune_trials SET retry_of = ? WHERE id = ? RETURNING number').get(s.number, copy) as { number: number }).number;
        this.db.prepare('UPDATE tune_trials SET retried_by = ? WHERE id = ?').run(n, s.id);
      }
      return stale.map((s) => s.id);
    });
    return this.load('id IN (SELECT value FROM json_each(?)) ORDER BY number', [JSON.stringify(ids)]);
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    const [t] = this.load('id = ?', [trialId]);
    if (!t) throw new StorageError(`trial id ${trialId} not found in ${this.url}`);
    return t;
  }

  async getTrials(studyId: number, states?: readonly TrialState[]): Promise<readonly FrozenTrial[]> {
    if (!states) return this.load('study_id = ? ORDER BY number', [studyId]);
    return this.load(`study_id = ? AND state IN (SELECT value FROM json_each(?)) ORDER BY number`, [studyId, JSON.stringify(states)]);
  }

  async finishedSince(studyId: number, cursor: number): Promise<FinishedPage> {
    let last = cursor;
    const trials = this.db.transaction(() => this.load('study_id = ? AND finish_seq > ? ORDER BY finish_seq', [studyId, cursor], (rows) => {
      for (const r of rows) last = Math.max(last, Number((r as TrialRow & { finish_seq: number }).finish_seq));
    }))();
    return { trials, cursor: last };
  }

  async counts(studyId: number): Promise<TrialCounts> {
    return this.countsSync(studyId);
  }

  private countsSync(studyId: number): TrialCounts {
    const rows = this.db.prepare('SELECT state, COUNT(*) AS n, SUM(retried_by IS NOT NULL) AS rq FROM tune_trials WHERE study_id = ? GROUP BY state').all(studyId) as { state: TrialState; n: number; rq: number }[];
    return toCounts(Object.fromEntries(rows.map((r) => [r.state, r.n])), rows.reduce((a, r) => a + (r.rq ?? 0), 0));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private mustRun(trialId: number, what: string): void {
    const r = this.db.prepare('SELECT state, number FROM tune_trials WHERE id = ?').get(trialId) as { state: string; number: number } | undefined;
    if (!r) throw new StorageError(`trial id ${trialId} not found in ${this.url}`);
    if (r.state !== 'RUNNING') throw new StorageError(`cannot ${what} trial ${r.number}: it is ${r.state}`);
  }

  private load(where: string, args: unknown[], seen?: (rows: readonly TrialRow[]) => void): FrozenTrial[] {
    const rows = this.db.prepare(`SELECT * FROM tune_trials WHERE ${where}`).all(...args) as TrialRow[];
    seen?.(rows);
    if (rows.length === 0) return [];
    const ids = JSON.stringify(rows.map((r) => r.id));
    const params = this.db.prepare('SELECT * FROM tune_params WHERE trial_id IN (SELECT value FROM json_each(?))').all(ids) as ParamRow[];
    const inter = this.db.prepare('SELECT * FROM tune_intermediate WHERE trial_id IN (SELECT value FROM json_each(?)) ORDER BY trial_id, step').all(ids) as IntermediateRow[];
    return assemble(rows, params, inter);
  }
}

function studyRecord(r: StudyRow): StudyRecord {
  return { id: r.id, name: r.name, directions: JSON.parse(r.directions), userAttrs: JSON.parse(r.user_attrs), systemAttrs: JSON.parse(r.system_attrs), createdAt: r.created_at };
}

const jsonPath = (key: string): string => `$.${JSON.stringify(key)}`;
