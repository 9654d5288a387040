// The set of served models and their loaded versions: load, unload and hot reload.
//
// A reload loads and warms the new versions first, then switches routing in one synchronous
// step, then drains the versions that left (their queued and running requests finish) before
// their workers end. So no request fails during a switch and readiness never drops.
import type { BatchObserver } from './batcher.js';
import type { ModelConfig } from './config.js';
import { notFound, ServeError } from './errors.js';
import { ModelVersion } from './model-version.js';
import { mtimeOf, resolveSource, type ModelResolver, type ModelVersionFile } from './resolver.js';

interface ModelEntry {
  config: ModelConfig;
  /** Loaded versions, oldest first. */
  versions: Map<string, ModelVersion>;
  /** Serialises loads of one model. */
  lock: Promise<unknown>;
}

export interface RepositoryEvents {
  loaded?(name: string, version: string, ms: number): void;
  retired?(name: string, version: string): void;
  batchObserver?(v: { name: string; version: string }): BatchObserver;
}

function pickVersions(
  found: readonly ModelVersionFile[],
  policy: ModelConfig['versions'],
  name: string,
): ModelVersionFile[] {
  if (policy === 'all') return [...found];
  if (policy === 'latest') return [found[found.length - 1]];
  const chosen = found.filter((f) => policy.includes(f.version));
  if (chosen.length === 0)
    throw new Error(
      `model '${name}': none of versions ${policy.join(', ')} exists (found ${found.map((f) => f.version).join(', ')})`,
    );
  return chosen;
}

/**
 * The served models and their loaded versions: loads, unloads and hot-reloads them (a reload warms the new versions
 * before switching and drains the ones that left), resolving sources through `resolvers` first.
 */
export class ModelRepository {
  private readonly models = new Map<string, ModelEntry>();

  constructor(
    private readonly resolvers: readonly ModelResolver[] = [],
    private readonly events: RepositoryEvents = {},
  ) {}

  /** The names of the configured models. */
  names(): string[] {
    return [...this.models.keys()];
  }

  /** Whether a model of that name is configured. */
  has(name: string): boolean {
    return this.models.has(name);
  }

  /** The config a model was loaded with, or undefined when it is not configured. */
  configOf(name: string): ModelConfig | undefined {
    return this.models.get(name)?.config;
  }

  /** Loaded versions of a model, oldest first. */
  versions(name: string): ModelVersion[] {
    return [...(this.models.get(name)?.versions.values() ?? [])];
  }

  /** Every loaded version of every model. */
  all(): ModelVersion[] {
    return [...this.models.values()].flatMap((e) => [...e.versions.values()]);
  }

  /** The version to serve: the given one, or the highest loaded. Throws 404 when absent. */
  get(name: string, version?: string): ModelVersion {
    const entry = this.models.get(name);
    if (!entry || entry.versions.size === 0) throw notFound(`model '${name}' is not loaded`);
    if (version === undefined) {
      const list = [...entry.versions.values()];
      return list.reduce((a, b) => (compareVersions(b.version, a.version) > 0 ? b : a));
    }
    const v = entry.versions.get(version);
    if (!v)
      throw notFound(`model '${name}' has no version '${version}' (loaded: ${[...entry.versions.keys()].join(', ')})`);
    return v;
  }

  /** True when every model has a ready version. */
  ready(): boolean {
    return [...this.models.values()].every((e) => [...e.versions.values()].some((v) => v.state === 'ready'));
  }

  /**
   * Loads a model (or reloads it from its source, possibly with a new config): new versions are
   * loaded and warmed before they take traffic; versions no longer wanted are drained, then closed.
   */
  async load(name: string, config: ModelConfig): Promise<string[]> {
    const entry = this.models.get(name) ?? {
      config,
      versions: new Map<string, ModelVersion>(),
      lock: Promise.resolve(),
    };
    const run = entry.lock.then(async () => {
      const found = await resolveSource(config.source, this.resolvers);
      const wanted = pickVersions(found, config.versions, name);
      const configChanged = entry.config !== config;
      const fresh = new Map<string, ModelVersion>();
      try {
        for (const f of wanted) {
          const old = entry.versions.get(f.version);
          if (old && old.path === f.path && old.mtimeMs === mtimeOf(f.path) && !configChanged) {
            fresh.set(f.version, old);
            continue;
          }
          const t0 = performance.now();
          const mv = await ModelVersion.load(name, f.version, f.path, config, this.events.batchObserver);
          this.events.loaded?.(name, f.version, performance.now() - t0);
          fresh.set(f.version, mv);
        }
      } catch (err) {
        await Promise.all(
          [...fresh.values()]
            .filter((v) => !entry.versions.has(v.version) || entry.versions.get(v.version) !== v)
            .map((v) => v.retire()),
        );
        throw err;
      }
      // The switch: one synchronous assignment.
      const leaving = [...entry.versions.values()].filter((v) => fresh.get(v.version) !== v);
      entry.versions = fresh;
      entry.config = config;
      this.models.set(name, entry);
      await Promise.all(
        leaving.map(async (v) => {
          await v.retire();
          this.events.retired?.(name, v.version);
        }),
      );
      return [...fresh.keys()];
    });
    entry.lock = run.catch(() => undefined);
    if (!this.models.has(name)) this.models.set(name, entry);
    try {
      return await run;
    } catch (err) {
      if (entry.versions.size === 0) this.models.delete(name);
      throw err instanceof ServeError ? err : new Error(`cannot load model '${name}': ${(err as Error).message}`);
    }
  }

  /** Re-resolves a model's source (e.g. a registry alias that moved, a new version folder) and switches to it. */
  reload(name: string): Promise<string[]> {
    const entry = this.models.get(name);
    if (!entry) return Promise.reject(notFound(`model '${name}' is not loaded`));
    return this.load(name, entry.config);
  }

  /** Removes a model: it stops taking requests at once; requests already queued finish. */
  async unload(name: string): Promise<void> {
    const entry = this.models.get(name);
    if (!entry) throw notFound(`model '${name}' is not loaded`);
    this.models.delete(name);
    await entry.lock;
    await Promise.all([...entry.versions.values()].map((v) => v.retire()));
  }

  /** Drains and closes everything. */
  async close(): Promise<void> {
    const names = this.names();
    await Promise.all(names.map((n) => this.unload(n)));
  }
}

function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
