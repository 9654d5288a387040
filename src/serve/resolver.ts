// Model sources: a file, a version folder, or a URI handled by a pluggable resolver.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

/** One version of a model, as a local ONNX file. */
export interface ModelVersionFile {
  readonly version: string;
  readonly path: string;
}

/**
 * Turns a model URI (e.g. `models:/fraud@champion` from the tracking registry) into local ONNX
 * files, one per version.
 *
 * Contract: return `undefined` when the URI is not yours (the next resolver, and finally the
 * file-system resolver, is asked); otherwise return at least one version, or throw an Error
 * whose message names the URI. `resolve` is called again on every reload, so an alias that
 * moved yields the new version. Versions are strings; two different files must never share
 * one (the response cache is keyed by version). Called on the event loop: do I/O asynchronously.
 */
export interface ModelResolver {
  /**
   * The local ONNX files of `uri`, one per version, or undefined when this resolver does not handle the URI; throws an
   * Error naming the URI when it handles it but cannot resolve it.
   */
  resolve(uri: string): Promise<readonly ModelVersionFile[] | undefined>;
}

const registered: ModelResolver[] = [];

/** Adds a resolver that `lathe serve` (and `createServer` without explicit resolvers) asks first, e.g. the tracking registry for `models:/`. */
export function registerModelResolver(resolver: ModelResolver): void {
  if (!registered.includes(resolver)) registered.push(resolver);
}

/** Resolvers added with {@link registerModelResolver}, in order. */
export function registeredModelResolvers(): readonly ModelResolver[] {
  return [...registered];
}

const numeric = (s: string): boolean => /^[0-9]+$/.test(s);

/**
 * Resolves a plain path: `model.onnx` (version "1"), a folder holding `model.onnx` (version "1"),
 * or a model folder in the Triton layout `<model>/<version>/model.onnx` (every numeric version).
 */
export function resolveFileSource(source: string): ModelVersionFile[] {
  const path = resolve(source);
  if (!existsSync(path)) throw new Error(`model source '${source}' does not exist`);
  if (statSync(path).isFile()) return [{ version: '1', path }];
  const versions = readdirSync(path)
    .filter((d) => numeric(d) && existsSync(join(path, d, 'model.onnx')))
    .sort((a, b) => Number(a) - Number(b))
    .map((d) => ({ version: d, path: join(path, d, 'model.onnx') }));
  if (versions.length > 0) return versions;
  if (existsSync(join(path, 'model.onnx'))) return [{ version: '1', path: join(path, 'model.onnx') }];
  throw new Error(`model source '${source}' holds neither model.onnx nor <version>/model.onnx folders`);
}

/** Asks each resolver in turn, then the file system. */
export async function resolveSource(
  source: string,
  resolvers: readonly ModelResolver[],
): Promise<readonly ModelVersionFile[]> {
  for (const r of resolvers) {
    const found = await r.resolve(source);
    if (found !== undefined) {
      if (found.length === 0) throw new Error(`model source '${source}' resolved to no versions`);
      return found;
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\//i.test(source) && !/^file:\//i.test(source)) {
    throw new Error(`no resolver handles '${source}' (is the model registry configured?)`);
  }
  return resolveFileSource(source.replace(/^file:\/\//i, ''));
}

/**
 * What a positional `lathe serve <source>` means: a `.onnx` file or a model folder is one model
 * (named after the file or folder); a folder of model folders (`<repo>/<model>/<version>/model.onnx`)
 * or of `.onnx` files is a repository of several models. URIs are one model named by the URI's last segment.
 */
export function expandSource(source: string): Record<string, string> {
  if (/^[a-z][a-z0-9+.-]*:\//i.test(source)) {
    // models:/name, models:/name@alias, models:/name/3 → "name"; other URIs: the last path segment
    const registry = /^models:\/+([^/@]+)/.exec(source);
    const trimmed = source.replace(/\/+$/, '');
    const name = registry ? registry[1] : trimmed.slice(trimmed.lastIndexOf('/') + 1).replace(/[@:].*$/, '') || 'model';
    return { [name]: source };
  }
  const path = resolve(source);
  if (!existsSync(path)) throw new Error(`model source '${source}' does not exist`);
  if (statSync(path).isFile()) return { [basename(path).replace(/\.onnx$/, '')]: path };
  const entries = readdirSync(path).sort();
  if (entries.some((d) => numeric(d)) || entries.includes('model.onnx')) return { [basename(path)]: path };
  const models: Record<string, string> = {};
  for (const e of entries) {
    const p = join(path, e);
    if (e.endsWith('.onnx') && statSync(p).isFile()) models[e.slice(0, -5)] = p;
    else if (statSync(p).isDirectory()) {
      const inner = readdirSync(p);
      if (inner.includes('model.onnx') || inner.some((d) => numeric(d) && existsSync(join(p, d, 'model.onnx'))))
        models[e] = p;
    }
  }
  if (Object.keys(models).length === 0)
    throw new Error(`folder '${source}' holds no models (expected <model>/<version>/model.onnx or *.onnx)`);
  return models;
}

/** Modification time of a model file (0 when it cannot be read). */
export function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
