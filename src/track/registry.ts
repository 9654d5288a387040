// Model registry on top of a TrackingStore: versions from runs, aliases, and `models:/` URIs.
import { existsSync } from 'node:fs';
import { artifactKind, blobPath, putFile, DEFAULT_MAX_ARTIFACT_BYTES } from './artifacts.js';
import type { TrackingStore } from './store.js';
import { TrackingError, type ModelSignature, type ModelVersionRecord } from './types.js';

/**
 * A parsed `models:/` URI: a name with an alias (`models:/name@alias`), with a version (`models:/name/3`), or alone
 * (every version).
 */
export type ModelUri =
  | { readonly name: string; readonly alias: string; readonly version?: undefined }
  | { readonly name: string; readonly version: number; readonly alias?: undefined }
  | { readonly name: string; readonly alias?: undefined; readonly version?: undefined };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Checks a registered-model name (letters, digits, `.`, `_`, `-`; 1-128 characters). */
export function checkModelName(name: string): string {
  if (!NAME.test(name))
    throw new TrackingError(
      `model name '${name}' is not valid: use letters, digits, '.', '_' or '-' (1-128 characters, starting with a letter or digit)`,
    );
  return name;
}

/** Parses `models:/<name>@<alias>`, `models:/<name>/<version>` or `models:/<name>` (every version). */
export function parseModelUri(uri: string): ModelUri {
  const bad = (): never => {
    throw new TrackingError(
      `malformed model URI '${uri}': expected models:/<name>@<alias>, models:/<name>/<version> or models:/<name>`,
    );
  };
  const m = /^models:\/([^/@]+)(?:@([^/@]+)|\/([^/@]+))?$/.exec(uri);
  if (!m || !NAME.test(m[1])) return bad();
  if (m[2] !== undefined) {
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(m[2])) return bad();
    return { name: m[1], alias: m[2] };
  }
  if (m[3] !== undefined) {
    if (!/^[1-9][0-9]{0,8}$/.test(m[3])) return bad();
    return { name: m[1], version: Number(m[3]) };
  }
  return { name: m[1] };
}

/**
 * Options of {@link registerModel}: the model name, the source run, the ONNX file and weights (artifact paths of the
 * run or local files), signature, description, tags and aliases to point at the new version.
 */
export interface RegisterModelOptions {
  readonly name: string;
  /** Run the model comes from: its metrics and lineage are copied into the version. */
  readonly runId?: string;
  /** The ONNX file: an artifact path of the run, or a local file. */
  readonly onnx: string;
  /** Weights (safetensors): an artifact path of the run, or a local file. */
  readonly weights?: string;
  readonly signature?: ModelSignature;
  /**
   * Reads the signature from the stored ONNX file (its path) when `signature` is not given; the CLI passes the ONNX
   * decoder's graph inputs and outputs (the tracking layer does not decode ONNX itself). Returns undefined when it
   * cannot tell.
   */
  readonly signatureOf?: (onnxPath: string) => ModelSignature | undefined;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** Point these aliases at the new version (e.g. ['challenger']). */
  readonly aliases?: readonly string[];
}

/** Finds content for `ref`: an artifact of the run if it has one by that path, else a local file copied into the store. */
async function contentOf(store: TrackingStore, runId: string | undefined, ref: string, field: string): Promise<string> {
  if (runId !== undefined) {
    const own = (await store.listArtifacts(runId)).find((a) => a.path === ref);
    if (own) return own.digest;
  }
  if (!existsSync(ref))
    throw new TrackingError(`${field} '${ref}' is neither an artifact of run '${runId ?? '(none)'}' nor a file`, 400);
  return putFile(store.artifactRoot, ref, Number(process.env.LATHE_MAX_ARTIFACT_BYTES) || DEFAULT_MAX_ARTIFACT_BYTES)
    .digest;
}

/** Registers a new version of a model (version numbers start at 1 and only grow). */
export async function registerModel(store: TrackingStore, opts: RegisterModelOptions): Promise<ModelVersionRecord> {
  checkModelName(opts.name);
  if (artifactKind(opts.onnx) !== 'onnx') throw new TrackingError(`onnx '${opts.onnx}' must name a .onnx file`);
  const run = opts.runId !== undefined ? await store.getRun(opts.runId) : undefined;
  const onnxDigest = await contentOf(store, opts.runId, opts.onnx, 'onnx');
  const weightsDigest = opts.weights !== undefined ? await contentOf(store, opts.runId, opts.weights, 'weights') : null;
  const version = await store.createModelVersion({
    name: opts.name,
    runId: run?.id ?? null,
    onnxDigest,
    weightsDigest,
    signature: opts.signature ?? opts.signatureOf?.(blobPath(store.artifactRoot, onnxDigest)) ?? null,
    metrics: run?.latest ?? {},
    lineage: run?.lineage ?? null,
    description: opts.description ?? '',
    tags: opts.tags ?? {},
  });
  for (const a of opts.aliases ?? []) await store.setAlias(opts.name, a, version.version);
  return version;
}

/** What a model URI points at, ready to load: files on this machine, signature and metadata. */
export interface ResolvedModel {
  readonly name: string;
  readonly version: number;
  readonly onnxPath: string;
  readonly weightsPath: string | null;
  readonly signature: ModelSignature | null;
  readonly record: ModelVersionRecord;
}

function toResolved(store: TrackingStore, v: ModelVersionRecord): ResolvedModel {
  const onnxPath = blobPath(store.artifactRoot, v.onnxDigest);
  if (!existsSync(onnxPath))
    throw new TrackingError(
      `model '${v.name}' version ${v.version}: ONNX content ${v.onnxDigest} is missing from ${store.artifactRoot}`,
      404,
    );
  return {
    name: v.name,
    version: v.version,
    onnxPath,
    weightsPath: v.weightsDigest ? blobPath(store.artifactRoot, v.weightsDigest) : null,
    signature: v.signature,
    record: v,
  };
}

/** `models:/name@alias` or `models:/name/3` -> local ONNX path + signature. `models:/name` means the latest version. */
export async function resolveModelUri(uri: string, store: TrackingStore): Promise<ResolvedModel> {
  const u = parseModelUri(uri);
  let version: number;
  if (u.alias !== undefined) {
    const model = await store.getModel(u.name);
    const v = model.aliases[u.alias];
    if (v === undefined)
      throw new TrackingError(
        `model '${u.name}' has no alias '${u.alias}' (aliases: ${Object.keys(model.aliases).join(', ') || 'none'})`,
        404,
      );
    version = v;
  } else if (u.version !== undefined) version = u.version;
  else {
    const model = await store.getModel(u.name);
    if (model.latestVersion === 0) throw new TrackingError(`model '${u.name}' has no versions`, 404);
    version = model.latestVersion;
  }
  return toResolved(store, await store.getModelVersion(u.name, version));
}

/**
 * A resolver with the shape `lathe serve` expects (`ModelResolver` in src/serve/resolver.ts): `models:/name@alias`
 * and `models:/name/<v>` give one version, `models:/name` gives every version; other URIs are not ours (undefined).
 */
export function registryResolver(store: TrackingStore): {
  /**
   * Local ONNX files of a `models:` URI (one per version); undefined for other URIs; throws a TrackingError for a
   * malformed URI or a missing model, alias or version.
   */
  resolve(uri: string): Promise<readonly { version: string; path: string }[] | undefined>;
} {
  return {
    async resolve(uri: string) {
      if (!uri.startsWith('models:')) return undefined;
      const u = parseModelUri(uri);
      if (u.alias === undefined && u.version === undefined) {
        const all = await store.listModelVersions(u.name);
        return all.map((v) => ({ version: String(v.version), path: toResolved(store, v).onnxPath }));
      }
      const r = await resolveModelUri(uri, store);
      return [{ version: String(r.version), path: r.onnxPath }];
    },
  };
}
