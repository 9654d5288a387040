// TrackingStore over any SqlDriver: the one implementation of runs, metrics, artifacts and registry queries.
import { hostname } from 'node:os';
import { canonicalMetricKey, metricKeySpellings } from '../metric-names.js';
import type { RunBatch, TrackingStore } from '../store.js';
import {
  TrackingError,
  type AliasEvent,
  type ArtifactRecord,
  type ExperimentSummary,
  type Lineage,
  type MetricPoint,
  type ModelVersionRecord,
  type NewModelVersion,
  type NewRun,
  type ParamValue,
  type RegisteredModel,
  type RunPage,
  type RunQuery,
  type RunRecord,
  type RunStatus,
} from '../types.js';
import {
  DIALECTS,
  num,
  numOrNull,
  type DialectSql,
  type InsertMany,
  type Row,
  type SqlDriver,
  type SqlQuerier,
} from '../../util/sql/driver.js';
import { compileFilter, compileSort } from './filter.js';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';
import { checkKey, checkParamsAndTags, checkTag, checkText } from '../validate.js';
import { pidAlive } from '../pid.js';

const MAX_PAGE = 1000;
const paramRow = (runId: string, key: string, v: ParamValue): unknown[] => [
  runId,
  key,
  JSON.stringify(v),
  typeof v === 'number' && Number.isFinite(v) ? v : null,
];
const json = <T>(text: unknown, fallback: T): T =>
  typeof text === 'string' && text ? (JSON.parse(text) as T) : fallback;
const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(',');

/** The statements one run batch becomes (metrics appended, latest values and heartbeat updated). */
function batchStatements(runId: string, b: RunBatch): (InsertMany | { sql: string; params: unknown[] })[] {
  const out: (InsertMany | { sql: string; params: unknown[] })[] = [];
  if (b.metrics.length > 0) {
    out.push({
      table: 'metrics',
      columns: ['run_id', 'key', 'step', 'time', 'value'],
      rows: b.metrics.map((m) => [runId, m.key, m.step, m.time, Number.isNaN(m.value) ? null : m.value]),
    });
    const last = new Map<string, MetricPoint>();
    for (const m of b.metrics) {
      const prev = last.get(m.key);
      if (!prev || m.step >= prev.step) last.set(m.key, m);
    }
    out.push({
      table: 'run_latest',
      columns: ['run_id', 'key', 'step', 'time', 'value'],
      rows: [...last.values()].map((m) => [runId, m.key, m.step, m.time, Number.isNaN(m.value) ? null : m.value]),
      suffix:
        'ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, time = excluded.time, value = excluded.value WHERE excluded.step >= run_latest.step',
    });
  }
  const params = Object.entries(b.params ?? {});
  if (params.length > 0)
    out.push({
      table: 'run_params',
      columns: ['run_id', 'key', 'value', 'num'],
      rows: params.map(([k, v]) => paramRow(runId, k, v)),
      suffix: 'ON CONFLICT (run_id, key) DO NOTHING',
    });
  const tags = Object.entries(b.tags ?? {});
  if (tags.length > 0)
    out.push({
      table: 'run_tags',
      columns: ['run_id', 'key', 'value'],
      rows: tags.map(([k, v]) => [runId, k, v]),
      suffix: 'ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value',
    });
  out.push({ sql: 'UPDATE runs SET heartbeat_at = ? WHERE id = ?', params: [b.heartbeatAt, runId] });
  return out;
}

async function execAll(q: SqlQuerier, stmts: ReturnType<typeof batchStatements>): Promise<void> {
  for (const s of stmts) {
    if ('table' in s) await q.insertMany(s);
    else await q.exec(s.sql, s.params);
  }
}

function toVersion(r: Row, tags: Record<string, string>): ModelVersionRecord {
  return {
    name: String(r.name),
    version: num(r.version),
    runId: (r.run_id as string | null) ?? null,
    onnxDigest: String(r.onnx_digest),
    weightsDigest: (r.weights_digest as string | null) ?? null,
    signature: json(r.signature, null),
    metrics: json(r.metrics, {}),
    lineage: json<Lineage | null>(r.lineage, null),
    description: String(r.description),
    tags,
    createdAt: num(r.created_at),
  };
}

/**
 * The {@link TrackingStore} over a SQL driver (SQLite or PostgreSQL): the one implementation of runs, metrics,
 * artifacts and the model registry; `openStore` builds it from a tracking URL.
 */
export class SqlStore implements TrackingStore {
  readonly kind: 'sqlite' | 'postgres';
  private readonly d: DialectSql;
  readonly writeBatchSync?: (runId: string, batch: RunBatch) => void;
  readonly setStatusSync?: (runId: string, status: RunStatus, endTime: number | null) => void;

  constructor(
    private readonly db: SqlDriver,
    readonly artifactRoot: string,
  ) {
    this.kind = db.dialect;
    this.d = DIALECTS[db.dialect];
    const txSync = db.txSync?.bind(db);
    if (txSync) {
      this.writeBatchSync = (runId, batch) => {
        SqlStore.checkBatch(batch);
        txSync(batchStatements(runId, batch));
      };
      this.setStatusSync = (runId, status, endTime) =>
        txSync([{ sql: 'UPDATE runs SET status = ?, end_time = ? WHERE id = ?', params: [status, endTime, runId] }]);
    }
  }

  /** Creates the tables if needed (idempotent; concurrent openers are serialized by the transaction). */
  async migrate(): Promise<void> {
    // Already migrated: run no DDL (CREATE INDEX takes table locks that deadlock with other processes' writes).
    const current = await this.db.all("SELECT value FROM lathe_meta WHERE key = 'schema_version'").catch(() => []);
    if (current.length > 0 && Number(current[0].value) === SCHEMA_VERSION) return;
    await this.db.tx(async (q) => {
      const lock = this.d.ddlLock(0x1a7e);
      if (lock) {
        await q.all(lock);
        const done = await q.all(
          "SELECT 1 AS ok FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'lathe_meta'",
        );
        if (done.length > 0 && (await q.all("SELECT value FROM lathe_meta WHERE key = 'schema_version'")).length > 0)
          return; // another process migrated meanwhile
      }
      for (const ddl of SCHEMA) await q.exec(ddl);
      await q.exec(`INSERT INTO lathe_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING`, [
        String(SCHEMA_VERSION),
      ]);
    });
  }

  async createRun(run: NewRun): Promise<void> {
    checkKey('experiment', run.experiment);
    checkText('run name', run.name);
    checkText('notes', run.notes);
    checkParamsAndTags(run.params, run.tags);
    await this.db.tx(async (q) => {
      await q.exec(
        'INSERT INTO runs (id, experiment, name, status, start_time, end_time, heartbeat_at, host, pid, notes, lineage) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
        [
          run.id,
          run.experiment,
          run.name,
          'running',
          run.startTime,
          null,
          run.startTime,
          run.host,
          run.pid,
          run.notes,
          JSON.stringify(run.lineage),
        ],
      );
      await execAll(
        q,
        batchStatements(run.id, { metrics: [], params: run.params, tags: run.tags, heartbeatAt: run.startTime }),
      );
    });
  }

  /** The run row of an id, else of a run name (unique, or the error lists the ids it names). */
  private async requireRun(q: SqlQuerier, id: string): Promise<Row> {
    const rows = await q.all('SELECT * FROM runs WHERE id = ?', [id]);
    if (rows.length > 0) return rows[0];
    const named = await q.all('SELECT * FROM runs WHERE name = ? ORDER BY start_time DESC LIMIT 6', [id]);
    if (named.length === 1) return named[0];
    if (named.length > 1)
      throw new TrackingError(
        `run name '${id}' names several runs (${named
          .slice(0, 5)
          .map((r) => String(r.id))
          .join(', ')}${named.length > 5 ? ', ...' : ''}): give the run id`,
      );
    throw new TrackingError(`run '${id}' not found`, 404);
  }

  /** Attaches params, tags and latest metrics to run rows (three queries for the whole page). */
  private async hydrate(rows: readonly Row[]): Promise<RunRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => String(r.id));
    const inList = placeholders(ids.length);
    const [params, tags, latest] = await Promise.all([
      this.db.all(`SELECT run_id, key, value FROM run_params WHERE run_id IN (${inList})`, ids),
      this.db.all(`SELECT run_id, key, value FROM run_tags WHERE run_id IN (${inList})`, ids),
      this.db.all(`SELECT run_id, key, value FROM run_latest WHERE run_id IN (${inList})`, ids),
    ]);
    const by = <T>(list: Row[], conv: (v: unknown) => T): Map<string, Record<string, T>> => {
      const m = new Map<string, Record<string, T>>();
      for (const r of list) {
        const id = String(r.run_id);
        let rec = m.get(id);
        if (rec === undefined) {
          rec = {};
          m.set(id, rec);
        }
        rec[String(r.key)] = conv(r.value);
      }
      return m;
    };
    const p = by(params, (v) => JSON.parse(String(v)) as ParamValue);
    const t = by(tags, String);
    const l = by(latest, num);
    return rows.map((r) => {
      const id = String(r.id);
      return {
        id,
        experiment: String(r.experiment),
        name: String(r.name),
        status: r.status as RunStatus,
        startTime: num(r.start_time),
        endTime: numOrNull(r.end_time),
        heartbeatAt: num(r.heartbeat_at),
        host: String(r.host),
        pid: num(r.pid),
        notes: String(r.notes),
        params: p.get(id) ?? {},
        tags: t.get(id) ?? {},
        latest: l.get(id) ?? {},
        lineage: json<Lineage>(r.lineage, { versions: {} }),
      };
    });
  }

  async getRun(id: string): Promise<RunRecord> {
    return (await this.hydrate([await this.requireRun(this.db, id)]))[0];
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    if (query.experiment !== undefined) checkText('experiment', query.experiment);
    if (query.filter !== undefined) checkText('filter', query.filter);
    const offset = query.offset ?? 0;
    const limit = query.limit ?? 50;
    if (!Number.isInteger(offset) || offset < 0)
      throw new TrackingError(`offset must be an integer >= 0 (got ${offset})`);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
      throw new TrackingError(`limit must be an integer in 1..${MAX_PAGE} (got ${limit})`);
    const f = compileFilter(query.filter);
    const s = compileSort(query.sort, query.order);
    const where = query.experiment ? `r.experiment = ? AND (${f.sql})` : f.sql;
    const whereParams = query.experiment ? [query.experiment, ...f.params] : f.params;
    const [countRows, rows] = await Promise.all([
      this.db.all(`SELECT count(*) AS n FROM runs r WHERE ${where}`, whereParams),
      this.db.all(`SELECT r.* FROM runs r ${s.join} WHERE ${where} ORDER BY ${s.orderBy} LIMIT ? OFFSET ?`, [
        ...s.params,
        ...whereParams,
        limit,
        offset,
      ]),
    ]);
    return { total: num(countRows[0].n), offset, runs: await this.hydrate(rows) };
  }

  async listExperiments(): Promise<readonly ExperimentSummary[]> {
    const rows = await this.db.all(
      'SELECT experiment, count(*) AS n, max(start_time) AS last FROM runs GROUP BY experiment ORDER BY max(start_time) DESC',
    );
    return rows.map((r) => ({ name: String(r.experiment), runs: num(r.n), lastStart: num(r.last) }));
  }

  async listColumns(experiment?: string): Promise<{ params: string[]; metrics: string[]; tags: string[] }> {
    if (experiment !== undefined) checkText('experiment', experiment);
    const q = (table: string): Promise<Row[]> =>
      experiment
        ? this.db.all(
            `SELECT DISTINCT x.key FROM ${table} x JOIN runs r ON r.id = x.run_id WHERE r.experiment = ? ORDER BY x.key`,
            [experiment],
          )
        : this.db.all(`SELECT DISTINCT key FROM ${table} ORDER BY key`);
    const [p, m, t] = await Promise.all([q('run_params'), q('run_latest'), q('run_tags')]);
    const keys = (rows: Row[]): string[] => rows.map((r) => String(r.key));
    const metrics = [...new Set(keys(m).map(canonicalMetricKey))].sort();
    return { params: keys(p), metrics, tags: keys(t) };
  }

  /** Validates a batch exactly as the library does (keys, NUL-free text): the REST API writes through here too. */
  private static checkBatch(batch: RunBatch): void {
    checkParamsAndTags(batch.params, batch.tags);
    let last = '';
    for (const m of batch.metrics) if (m.key !== last) checkKey('metric', (last = m.key));
  }

  async writeBatch(idOrName: string, batch: RunBatch): Promise<void> {
    SqlStore.checkBatch(batch);
    await this.db.tx(async (q) => {
      const runId = String((await this.requireRun(q, idOrName)).id);
      const params = batch.params ?? {};
      const keys = Object.keys(params);
      if (keys.length > 0) {
        const existing = await q.all(
          `SELECT key, value FROM run_params WHERE run_id = ? AND key IN (${placeholders(keys.length)})`,
          [runId, ...keys],
        );
        for (const r of existing) {
          const now = JSON.stringify(params[String(r.key)]);
          if (now !== r.value)
            throw new TrackingError(
              `param '${String(r.key)}' of run '${runId}' is already ${String(r.value)}; params cannot change (got ${now})`,
              409,
            );
        }
      }
      await execAll(q, batchStatements(runId, batch));
    });
  }

  async setStatus(idOrName: string, status: RunStatus, endTime: number | null): Promise<void> {
    await this.db.tx(async (q) => {
      const runId = String((await this.requireRun(q, idOrName)).id);
      await q.exec('UPDATE runs SET status = ?, end_time = ? WHERE id = ?', [status, endTime, runId]);
    });
  }

  async setNotes(idOrName: string, notes: string): Promise<void> {
    checkText('notes', notes);
    await this.db.tx(async (q) => {
      const runId = String((await this.requireRun(q, idOrName)).id);
      await q.exec('UPDATE runs SET notes = ? WHERE id = ?', [notes, runId]);
    });
  }

  async deleteTag(idOrName: string, key: string): Promise<void> {
    await this.db.tx(async (q) => {
      const runId = String((await this.requireRun(q, idOrName)).id);
      await q.exec('DELETE FROM run_tags WHERE run_id = ? AND key = ?', [runId, key]);
    });
  }

  async metricKeys(idOrName: string): Promise<readonly string[]> {
    const runId = String((await this.requireRun(this.db, idOrName)).id);
    const keys = (await this.db.all('SELECT key FROM run_latest WHERE run_id = ?', [runId])).map((r) =>
      canonicalMetricKey(String(r.key)),
    );
    return [...new Set(keys)].sort();
  }

  async metricSeries(idOrName: string, key: string, maxPoints?: number): Promise<readonly MetricPoint[]> {
    const runId = String((await this.requireRun(this.db, idOrName)).id);
    // the canonical key and the spelling of runs logged before the convention (`train_loss`)
    const spellings = metricKeySpellings(key);
    const rows = await this.db.all(
      `SELECT step, time, value FROM metrics WHERE run_id = ? AND key IN (${placeholders(spellings.length)}) ORDER BY step, time`,
      [runId, ...spellings],
    );
    const canonical = spellings[0];
    let pts: MetricPoint[] = rows.map((r) => ({
      key: canonical,
      step: num(r.step),
      time: num(r.time),
      value: r.value === null ? NaN : num(r.value),
    }));
    if (maxPoints !== undefined && maxPoints >= 2 && pts.length > maxPoints) {
      const stride = (pts.length - 1) / (maxPoints - 1);
      pts = Array.from({ length: maxPoints }, (_, i) => pts[Math.round(i * stride)]);
    }
    return pts;
  }

  async sweep(staleMs: number): Promise<readonly string[]> {
    const now = Date.now();
    const here = hostname();
    const rows = await this.db.all("SELECT id, host, pid, heartbeat_at FROM runs WHERE status = 'running'");
    const found: { id: string; status: RunStatus; end: number }[] = [];
    for (const r of rows) {
      const hb = num(r.heartbeat_at);
      const pid = num(r.pid);
      if (String(r.host) === here && pid !== process.pid && !pidAlive(pid))
        found.push({ id: String(r.id), status: 'killed', end: hb });
      else if (now - hb > staleMs && !(String(r.host) === here && pid === process.pid))
        found.push({ id: String(r.id), status: 'failed', end: hb });
    }
    if (found.length === 0) return [];
    await this.db.tx(async (q) => {
      for (const f of found) {
        // Only a run still running: its writer may have ended it between the read and this write.
        await q.exec("UPDATE runs SET status = ?, end_time = ? WHERE id = ? AND status = 'running'", [
          f.status,
          f.end,
          f.id,
        ]);
        await q.exec(
          'INSERT INTO run_tags (run_id, key, value) VALUES (?,?,?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value',
          [
            f.id,
            'lathe.ended_by',
            f.status === 'killed' ? 'sweep: writer process gone' : `sweep: no heartbeat for ${staleMs} ms`,
          ],
        );
      }
    });
    return found.map((f) => f.id);
  }

  async addArtifact(a: ArtifactRecord): Promise<void> {
    await this.db.tx(async (q) => {
      await this.requireRun(q, a.runId);
      const n = await q.exec(
        'INSERT INTO artifacts (run_id, path, digest, size, kind, created_at) VALUES (?,?,?,?,?,?) ON CONFLICT (run_id, path) DO NOTHING',
        [a.runId, a.path, a.digest, a.size, a.kind, a.createdAt],
      );
      if (n === 0)
        throw new TrackingError(
          `artifact '${a.path}' already exists in run '${a.runId}'; artifacts cannot be overwritten`,
          409,
        );
    });
  }

  async listArtifacts(idOrName: string): Promise<readonly ArtifactRecord[]> {
    const runId = String((await this.requireRun(this.db, idOrName)).id);
    const rows = await this.db.all('SELECT * FROM artifacts WHERE run_id = ? ORDER BY path', [runId]);
    return rows.map((r) => ({
      runId,
      path: String(r.path),
      digest: String(r.digest),
      size: num(r.size),
      kind: String(r.kind),
      createdAt: num(r.created_at),
    }));
  }

  async getArtifact(idOrName: string, path: string): Promise<ArtifactRecord> {
    const runId = String((await this.requireRun(this.db, idOrName)).id);
    const rows = await this.db.all('SELECT * FROM artifacts WHERE run_id = ? AND path = ?', [runId, path]);
    if (rows.length === 0) throw new TrackingError(`artifact '${path}' not found in run '${runId}'`, 404);
    const r = rows[0];
    return {
      runId,
      path,
      digest: String(r.digest),
      size: num(r.size),
      kind: String(r.kind),
      createdAt: num(r.created_at),
    };
  }

  async createModelVersion(v: NewModelVersion): Promise<ModelVersionRecord> {
    const now = Date.now();
    const version = await this.db.tx(async (q) => {
      if (v.runId !== null) await this.requireRun(q, v.runId);
      await q.exec('INSERT INTO models (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [v.name, now]);
      // Lock the model row so two registrations cannot take the same version number.
      await q.all(`SELECT name FROM models WHERE name = ?${this.d.forUpdate}`, [v.name]);
      const max = await q.all('SELECT max(version) AS v FROM model_versions WHERE name = ?', [v.name]);
      const next = (numOrNull(max[0].v) ?? 0) + 1;
      await q.exec(
        'INSERT INTO model_versions (name, version, run_id, onnx_digest, weights_digest, signature, metrics, lineage, description, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)',
        [
          v.name,
          next,
          v.runId,
          v.onnxDigest,
          v.weightsDigest,
          v.signature ? JSON.stringify(v.signature) : null,
          JSON.stringify(v.metrics),
          v.lineage ? JSON.stringify(v.lineage) : null,
          v.description,
          now,
        ],
      );
      const tags = Object.entries(v.tags);
      if (tags.length > 0)
        await q.insertMany({
          table: 'model_version_tags',
          columns: ['name', 'version', 'key', 'value'],
          rows: tags.map(([k, val]) => [v.name, next, k, val]),
        });
      return next;
    });
    return this.getModelVersion(v.name, version);
  }

  async getModelVersion(name: string, version: number): Promise<ModelVersionRecord> {
    const rows = await this.db.all('SELECT * FROM model_versions WHERE name = ? AND version = ?', [name, version]);
    if (rows.length === 0) {
      await this.getModel(name);
      throw new TrackingError(`model '${name}' has no version ${version}`, 404);
    }
    const tags = await this.db.all('SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?', [
      name,
      version,
    ]);
    return toVersion(rows[0], Object.fromEntries(tags.map((t) => [String(t.key), String(t.value)])));
  }

  async listModels(): Promise<readonly RegisteredModel[]> {
    const [models, aliases] = await Promise.all([
      this.db.all(
        'SELECT m.name, m.created_at, max(v.version) AS latest FROM models m LEFT JOIN model_versions v ON v.name = m.name GROUP BY m.name, m.created_at ORDER BY m.name',
      ),
      this.db.all('SELECT name, alias, version FROM model_aliases'),
    ]);
    return models.map((m) => ({
      name: String(m.name),
      createdAt: num(m.created_at),
      latestVersion: numOrNull(m.latest) ?? 0,
      aliases: Object.fromEntries(
        aliases.filter((a) => a.name === m.name).map((a) => [String(a.alias), num(a.version)]),
      ),
    }));
  }

  async getModel(name: string): Promise<RegisteredModel> {
    const found = (await this.listModels()).find((m) => m.name === name);
    if (!found) throw new TrackingError(`model '${name}' not found in the registry`, 404);
    return found;
  }

  async listModelVersions(name: string): Promise<readonly ModelVersionRecord[]> {
    await this.getModel(name);
    const [rows, tags] = await Promise.all([
      this.db.all('SELECT * FROM model_versions WHERE name = ? ORDER BY version', [name]),
      this.db.all('SELECT version, key, value FROM model_version_tags WHERE name = ?', [name]),
    ]);
    return rows.map((r) =>
      toVersion(
        r,
        Object.fromEntries(
          tags.filter((t) => num(t.version) === num(r.version)).map((t) => [String(t.key), String(t.value)]),
        ),
      ),
    );
  }

  async setAlias(name: string, alias: string, version: number | null): Promise<void> {
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(alias))
      throw new TrackingError(`alias '${alias}' is not valid: use a letter then letters, digits, '_' or '-'`);
    if (/^v?[0-9]+$/.test(alias)) throw new TrackingError(`alias '${alias}' looks like a version number`);
    await this.db.tx(async (q) => {
      // Lock the model row: moves of any alias of one model then take turns, so `max(seq) + 1` is never taken twice.
      const exists = await q.all(`SELECT name FROM models WHERE name = ?${this.d.forUpdate}`, [name]);
      if (exists.length === 0) throw new TrackingError(`model '${name}' not found in the registry`, 404);
      if (version !== null) {
        const v = await q.all('SELECT version FROM model_versions WHERE name = ? AND version = ?', [name, version]);
        if (v.length === 0) throw new TrackingError(`model '${name}' has no version ${version}`, 404);
        await q.exec(
          'INSERT INTO model_aliases (name, alias, version) VALUES (?,?,?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version',
          [name, alias, version],
        );
      } else {
        const n = await q.exec('DELETE FROM model_aliases WHERE name = ? AND alias = ?', [name, alias]);
        if (n === 0) throw new TrackingError(`model '${name}' has no alias '${alias}'`, 404);
      }
      const seq = await q.all('SELECT max(seq) AS s FROM alias_history WHERE name = ?', [name]);
      await q.exec('INSERT INTO alias_history (name, alias, version, at, seq) VALUES (?,?,?,?,?)', [
        name,
        alias,
        version,
        Date.now(),
        (numOrNull(seq[0].s) ?? 0) + 1,
      ]);
    });
  }

  async aliasHistory(name: string): Promise<readonly AliasEvent[]> {
    await this.getModel(name);
    const rows = await this.db.all('SELECT alias, version, at FROM alias_history WHERE name = ? ORDER BY seq', [name]);
    return rows.map((r) => ({ alias: String(r.alias), version: numOrNull(r.version), at: num(r.at) }));
  }

  async setModelVersionTag(name: string, version: number, key: string, value: string): Promise<void> {
    checkTag(key, value);
    await this.getModelVersion(name, version);
    await this.db.tx((q) =>
      q.exec(
        'INSERT INTO model_version_tags (name, version, key, value) VALUES (?,?,?,?) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value',
        [name, version, key, value],
      ),
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
