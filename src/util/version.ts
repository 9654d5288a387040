// lathe's version, read once from its own package.json: the one source for the CLI, the ONNX producer_version,
// checkpoint manifests, run lineage and the server's metadata.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';

let cached: string | undefined;

/** lathe's version string from its package.json, read once and cached; throws when package.json has no version. */
export function latheVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof pkg.version !== 'string')
      throw new Error(`lathe: ${join(packageRoot(), 'package.json')} has no version`);
    cached = pkg.version;
  }
  return cached;
}

function versionOf(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Versions of lathe, onnxruntime-node and Node, as recorded in checkpoints, exported models and run lineage (read
 * from package files: no engine is loaded).
 */
export function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node };
  try {
    out.lathe = latheVersion();
    const ort = versionOf(createRequire(join(packageRoot(), 'package.json')).resolve('onnxruntime-node/package.json'));
    if (ort) out.onnxruntime = ort;
  } catch {
    // not inside a lathe install: Node's version is still known
  }
  return out;
}
