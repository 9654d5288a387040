#!/usr/bin/env node
import { existsSync } from 'node:fs';
const entry = new URL('../dist/src/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('lathe: not built yet; run `npm install` (or `npm run build`) in the lathe folder first.');
  process.exit(2);
}
await import(entry.href);
