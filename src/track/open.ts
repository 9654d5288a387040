// Tracking URLs: a folder (default `.lathe/`), `sqlite:<file>`, or `postgres://...?schema=<s>&artifacts=<dir>`.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { sweepArtifactTemp } from './artifacts.js';
import { startRun, type Run, type StartRunOptions } from './run.js';
import { PostgresDriver } from '../util/sql/postgres.js';
import { SqliteDriver } from '../util/sql/sqlite.js';
import { SqlStore } from './sql/sql-store.js';
import type { TrackingStore } from './store.js';

/** Where tracking goes when nothing is configured. */
export const DEFAULT_TRACKING_URL = '.lathe';

/**
 * Where a tracking URL points: a SQLite file or a PostgreSQL connection and schema, each with the folder of its
 * artifact store.
 */
export type TrackingLocation =
  | { readonly kind: 'sqlite'; readonly file: string; readonly artifactRoot: string }
  | { readonly kind: 'postgres'; readonly connection: string; readonly schema: string; readonly artifactRoot: string };

/** The URL in effect: the argument, else `LATHE_TRACKING_URL`, else `.lathe`. */
export function trackingUrl(url?: string): string {
  return url ?? process.env.LATHE_TRACKING_URL ?? DEFAULT_TRACKING_URL;
}

/** Parses a tracking URL (relative paths resolve against the current folder). */
export function parseTrackingUrl(url: string): TrackingLocation {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`malformed tracking URL '${url}'`);
    }
    const schema = u.searchParams.get('schema') ?? 'lathe';
    const artifacts =
      u.searchParams.get('artifacts') ?? process.env.LATHE_ARTIFACT_ROOT ?? join(DEFAULT_TRACKING_URL, 'artifacts');
    u.searchParams.delete('schema');
    u.searchParams.delete('artifacts');
    return { kind: 'postgres', connection: u.toString(), schema, artifactRoot: resolve(artifacts) };
  }
  if (/^sqlite:/i.test(url)) {
    const file = resolve(url.replace(/^sqlite:(\/\/)?/i, ''));
    return { kind: 'sqlite', file, artifactRoot: join(dirname(file), 'artifacts') };
  }
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(url) && !/^file:\/\//i.test(url))
    throw new Error(`unsupported tracking URL '${url}': use a folder, sqlite:<file> or postgres://...`);
  const dir = resolve(url.replace(/^file:\/\//i, ''));
  return { kind: 'sqlite', file: join(dir, 'tracking.db'), artifactRoot: join(dir, 'artifacts') };
}

/** Options of {@link openStore} and {@link openTracking}. */
export interface OpenOptions {
  /**
   * When opening, mark runs whose writer died (dead pid on this host, or no heartbeat for `staleMs`) and remove the
   * artifact temp files of dead writers (default true).
   */
  readonly sweep?: boolean;
  /** Heartbeat age after which a running run counts as dead (default 120 s). */
  readonly staleMs?: number;
}

/** Opens (creating if needed) the store at a tracking URL. */
export async function openStore(url?: string, options: OpenOptions = {}): Promise<TrackingStore> {
  const loc = parseTrackingUrl(trackingUrl(url));
  mkdirSync(loc.artifactRoot, { recursive: true });
  let store: SqlStore;
  if (loc.kind === 'sqlite') {
    mkdirSync(dirname(loc.file), { recursive: true });
    store = new SqlStore(new SqliteDriver(loc.file), loc.artifactRoot);
  } else {
    store = new SqlStore(await PostgresDriver.open(loc.connection, loc.schema), loc.artifactRoot);
  }
  try {
    await store.migrate();
    if (options.sweep !== false) await sweepDeadWriters(store, options.staleMs);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** The heartbeat age after which a running run counts as dead, unless told otherwise. */
export const DEFAULT_STALE_MS = 120_000;

/** Marks runs whose writer died and removes dead writers' artifact temp files: what opening a store and `lathe ui`'s timer do. */
export async function sweepDeadWriters(
  store: TrackingStore,
  staleMs: number = DEFAULT_STALE_MS,
): Promise<{ readonly runs: readonly string[]; readonly tempFiles: readonly string[] }> {
  const runs = await store.sweep(staleMs);
  return { runs, tempFiles: sweepArtifactTemp(store.artifactRoot) };
}

/** A tracking store plus a shortcut to start runs in it: what the Trainer and `lathe tune` call. */
export interface Tracking {
  readonly store: TrackingStore;
  /** Starts a run in this store (see {@link startRun}); logging into it only buffers. */
  startRun(options?: StartRunOptions): Promise<Run>;
  /** Closes the store; end or flush the runs started from it first. */
  close(): Promise<void>;
}

/** `openTracking()` opens the configured store (default `.lathe/`); `startRun` records into it. */
export async function openTracking(url?: string, options: OpenOptions = {}): Promise<Tracking> {
  const store = await openStore(url, options);
  return {
    store,
    startRun: (o) => startRun(store, o),
    close: () => store.close(),
  };
}
