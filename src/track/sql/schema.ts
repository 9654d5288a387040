// Tables of the tracking store. One DDL text for both dialects (SQLite reads BIGINT/DOUBLE PRECISION by affinity).

export const SCHEMA_VERSION = 1;

export const SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS lathe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, experiment TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    start_time BIGINT NOT NULL, end_time BIGINT, heartbeat_at BIGINT NOT NULL,
    host TEXT NOT NULL, pid INTEGER NOT NULL, notes TEXT NOT NULL, lineage TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS runs_start ON runs (start_time)`,
  `CREATE INDEX IF NOT EXISTS runs_exp_start ON runs (experiment, start_time)`,
  `CREATE INDEX IF NOT EXISTS runs_status ON runs (status)`,
  // value: JSON text of the param (keeps its type); num: its value when it is a number (for ranges and sorting).
  `CREATE TABLE IF NOT EXISTS run_params (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, num DOUBLE PRECISION, PRIMARY KEY (run_id, key))`,
  `CREATE INDEX IF NOT EXISTS run_params_key ON run_params (key, num)`,
  `CREATE TABLE IF NOT EXISTS run_tags (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key))`,
  // The last point (highest step) of every series: what the runs table shows, filters and sorts on.
  `CREATE TABLE IF NOT EXISTS run_latest (run_id TEXT NOT NULL, key TEXT NOT NULL, step BIGINT NOT NULL, time BIGINT NOT NULL, value DOUBLE PRECISION, PRIMARY KEY (run_id, key))`,
  `CREATE INDEX IF NOT EXISTS run_latest_key ON run_latest (key, value)`,
  `CREATE TABLE IF NOT EXISTS metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, step BIGINT NOT NULL, time BIGINT NOT NULL, value DOUBLE PRECISION)`,
  `CREATE INDEX IF NOT EXISTS metrics_run_key_step ON metrics (run_id, key, step)`,
  `CREATE TABLE IF NOT EXISTS artifacts (run_id TEXT NOT NULL, path TEXT NOT NULL, digest TEXT NOT NULL, size BIGINT NOT NULL, kind TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (run_id, path))`,
  `CREATE TABLE IF NOT EXISTS models (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS model_versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, run_id TEXT, onnx_digest TEXT NOT NULL, weights_digest TEXT,
    signature TEXT, metrics TEXT NOT NULL, lineage TEXT, description TEXT NOT NULL, created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version))`,
  `CREATE TABLE IF NOT EXISTS model_version_tags (name TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, version, key))`,
  `CREATE TABLE IF NOT EXISTS model_aliases (name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias))`,
  `CREATE TABLE IF NOT EXISTS alias_history (name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER, at BIGINT NOT NULL, seq BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS alias_history_name ON alias_history (name, seq)`,
];
