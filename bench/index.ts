// `npm run bench -- <name> [--json] [...]`: runs bench/<name>.js (compiled from bench/<name>.ts).
// Each benchmark exports `run(args: string[]): Promise<void>` and prints one JSON line per figure with --json.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'index.js' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [--json]\navailable: ${available.join(', ')}`);
  process.exit(2);
}
const mod = (await import(join(here, `${name}.js`))) as { run(args: string[]): Promise<void> };
await mod.run(rest);
