// Where a run came from: git commit and dirty flag, config hash, dataset fingerprint, seed, versions.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { versions } from '../util/version.js';
import type { Lineage } from './types.js';

/** The commit checked out in `cwd` and whether tracked files differ from it; null outside a git work tree. */
export function gitInfo(cwd: string = process.cwd()): { commit: string; dirty: boolean } | null {
  try {
    const opts = {
      cwd,
      encoding: 'utf8' as const,
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'],
    };
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts);
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return null;
  }
}

/** JSON with object keys sorted at every level: equal configs give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** `sha256:<hex>` of the canonical JSON of a config. */
export function configHash(config: unknown): string {
  return (
    'sha256:' +
    createHash('sha256')
      .update(canonicalJson(config ?? null))
      .digest('hex')
  );
}

/** A fingerprint of files or folders: sha256 over each file's relative path and content, in sorted order. */
export function fingerprintFiles(paths: readonly string[]): string {
  const hash = createHash('sha256');
  const files: { base: string; path: string }[] = [];
  const walk = (base: string, p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(base, join(p, n));
    else if (st.isFile()) files.push({ base, path: p });
  };
  for (const p of paths) walk(p, p);
  for (const f of files) {
    hash.update(relative(f.base, f.path) + '\0');
    hash.update(readFileSync(f.path));
  }
  return 'sha256:' + hash.digest('hex');
}

/**
 * What {@link collectLineage} records besides what it finds itself (git state, package versions, host, platform): the
 * config (hashed), the seed, the dataset fingerprint, and whether and where to read git.
 */
export interface LineageInput {
  readonly config?: unknown;
  readonly seed?: number;
  readonly dataset?: { readonly name?: string; readonly fingerprint: string };
  /** Record git state (default true). */
  readonly git?: boolean;
  readonly cwd?: string;
}

/** Everything recorded automatically at run start. */
export function collectLineage(input: LineageInput): Lineage {
  return {
    git: input.git === false ? null : gitInfo(input.cwd),
    config: input.config ?? null,
    configHash: input.config === undefined ? null : configHash(input.config),
    dataset: input.dataset ?? null,
    seed: input.seed ?? null,
    versions: versions(),
    host: hostname(),
    platform: `${process.platform}-${process.arch}`,
    argv: process.argv.slice(1),
  };
}
