import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder of lathe's own package.json, found by walking up from this compiled file (works from dist/ or build/<x>/). */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'lathe.js'))) return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('lathe: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
