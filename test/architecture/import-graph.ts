// The folder-level import graph of src/ and its check against a layer table.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import type { Layers } from './layers.js';

export interface ImportEdge {
  /** The importing file, relative to the source root. */
  readonly file: string;
  readonly from: string;
  readonly to: string;
}

/** The top folder of a path relative to the source root; '(root)' for files directly in it. */
const folderOf = (rel: string): string => (rel.includes(sep) ? rel.split(sep)[0] : '(root)');

// static imports and re-exports (`from '…'`), side-effect imports (`import '…'`) and dynamic `import('…')`
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every import between different folders of `root` (relative specifiers only: packages are not layers). */
export function importEdges(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) {
        const file = relative(root, p);
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(IMPORT)) {
          const target = relative(root, normalize(join(dirname(p), m[1])));
          if (target.startsWith('..')) continue;
          const [from, to] = [folderOf(file), folderOf(target)];
          if (from !== to) edges.push({ file, from, to });
        }
      }
    }
  };
  walk(root);
  return edges;
}

/** The edges the table does not allow, each with a message naming the file and the rule. */
export function layeringViolations(edges: readonly ImportEdge[], layers: Layers): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const row = layers[e.from];
    if (!row) out.push(`${e.file}: folder "${e.from}" has no row in the layer table (test/architecture/layers.ts)`);
    else if (!('*' in row) && !(e.to in row)) {
      out.push(`${e.file}: ${e.from}/ may not import ${e.to}/ (allowed: ${Object.keys(row).join(', ') || 'nothing'})`);
    }
  }
  return out;
}

/** A cycle among the table's rows, or undefined when the table is a DAG (wildcard rows excluded). */
export function tableCycle(layers: Layers): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    const row = layers[n] ?? {};
    if (!('*' in row))
      for (const m of Object.keys(row)) {
        const c = visit(m);
        if (c) return c;
      }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of Object.keys(layers)) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}
