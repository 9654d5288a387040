/**
 * A dimension is a number or a named symbol ("batch", "seq"): one compiled graph serves every
 * value of a symbol. Derived symbolic dims are products written "batch*seq".
 */
export type Dim = number | string;
/** A tensor shape: one entry per axis, each a static size or a symbolic name resolved at run time. */
export type Shape = readonly Dim[];

/** Formats a shape for messages, e.g. `[batch,3,224,224]`. */
export const formatShape = (s: Shape): string => `[${s.join(',')}]`;

export function numel(s: Shape): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of s) typeof d === 'number' ? (n *= d) : syms.push(d);
  if (syms.length === 0) return n;
  if (n === 0) return 0;
  return mulDims(n, syms.join('*'));
}

/** Product of two dims, kept symbolic when either is symbolic. */
export function mulDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === 0 || b === 0) return 0;
  const parts = [...String(a).split('*'), ...String(b).split('*')];
  const num = parts.filter((p) => /^\d+$/.test(p)).reduce((x, p) => x * Number(p), 1);
  const syms = parts.filter((p) => !/^\d+$/.test(p)).sort();
  return [...(num !== 1 ? [String(num)] : []), ...syms].join('*');
}

/** Numpy broadcasting of two shapes; errors name the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (typeof da === 'number' && typeof db === 'number') {
      throw new Error(
        `${op}: shapes do not broadcast: ${formatShape(a)} vs ${formatShape(b)} (dim ${i}: ${da} vs ${db})`,
      );
    } else if (typeof da === 'number')
      out.push(da); // a symbol meets a number: the number wins, ORT checks at run time
    else if (typeof db === 'number') out.push(db);
    else
      throw new Error(
        `${op}: shapes do not broadcast: ${formatShape(a)} vs ${formatShape(b)} (symbols ${da} and ${db} may differ)`,
      );
  }
  return out;
}

/** Normalises a possibly negative axis against a rank; errors name the op. */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normAxis(op, a, rank));
  if (new Set(out).size !== out.length) throw new Error(`${op}: repeated axis in ${JSON.stringify(list)}`);
  return out.sort((x, y) => x - y);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Splits a dim into its numeric factor and its sorted symbol factors. */
function factors(d: Dim): { num: number; syms: string[] } {
  if (typeof d === 'number') return { num: d, syms: [] };
  let num = 1;
  const syms: string[] = [];
  for (const p of d.split('*')) /^\d+$/.test(p) ? (num *= Number(p)) : syms.push(p);
  return { num, syms: syms.sort() };
}

/** a / b for dims when it divides exactly (symbols cancel); undefined otherwise. */
export function divDims(a: Dim, b: Dim): Dim | undefined {
  const fa = factors(a);
  const fb = factors(b);
  if (fb.num === 0 || fa.num % fb.num !== 0) return undefined;
  const rest = [...fa.syms];
  for (const s of fb.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  const num = fa.num / fb.num;
  if (rest.length === 0) return num;
  return mulDims(num, rest.join('*'));
}
