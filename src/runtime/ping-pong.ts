// State that a graph rewrites on every run (parameters, optimizer slots, running statistics) held twice: the
// current set feeds the run, the next set receives its outputs in place (ORT fills preallocated output tensors),
// then the two swap. The steady state allocates nothing state-sized. An entry's second buffer is allocated the first time
// a run writes it, so state that no run writes (frozen parameters) is held once.
import type * as ort from 'onnxruntime-node';
import { allocate, type DType } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { formatShape } from '../graph/shape.js';
import { fromOrt, toOrt } from './convert.js';

/** A new ORT tensor of `dtype` and `shape`, every element `fill`. */
export function blankTensor(dtype: DType, shape: readonly number[], fill = 0): ort.Tensor {
  const data = allocate(
    dtype,
    shape.reduce((x, y) => x * y, 1),
  );
  if (fill) (data as Float32Array).fill(fill);
  return toOrt({ dtype, shape, data });
}

function copyTensor(a: NDArray): ort.Tensor {
  const data = allocate(a.dtype, (a.data as ArrayLike<unknown>).length);
  (data as Float32Array).set(a.data as Float32Array);
  return toOrt({ dtype: a.dtype, shape: a.shape, data });
}

export class PingPong {
  private cur: Record<string, ort.Tensor>;
  private next: Record<string, ort.Tensor>;

  /** Copies `init` into the current set; the next set's buffers come with the first run that writes them. */
  constructor(init: Readonly<Record<string, NDArray>>) {
    this.cur = Object.fromEntries(Object.entries(init).map(([k, v]) => [k, copyTensor(v)]));
    this.next = {};
  }

  /** Bytes held in both sets (the current values and the second buffers allocated so far). */
  get heldBytes(): number {
    const bytes = (set: Record<string, ort.Tensor>) =>
      Object.values(set).reduce((n, t) => n + (t.data as Float32Array).byteLength, 0);
    return bytes(this.cur) + bytes(this.next);
  }

  /** The current set, as feeds (graph inputs named like the state). */
  get feeds(): Readonly<Record<string, ort.Tensor>> {
    return this.cur;
  }

  /** The next set's tensors for `names`, as fetches for outputs named `<prefix><name>`. */
  fetches(names: readonly string[], prefix: string): Record<string, ort.Tensor> {
    return Object.fromEntries(
      names.map((k) => {
        const c = this.cur[k];
        if (!c) throw new Error(`state: no entry ${k}`);
        this.next[k] ??= blankTensor(c.type as DType, c.dims);
        return [`${prefix}${k}`, this.next[k]];
      }),
    );
  }

  /** After a run that wrote `names` into the next set: those become current. */
  swap(names: readonly string[]): void {
    for (const k of names) {
      const tmp = this.cur[k];
      this.cur[k] = this.next[k];
      this.next[k] = tmp;
    }
  }

  has(name: string): boolean {
    return name in this.cur;
  }

  /** A view of the current value (valid until the next two runs; copy to keep). */
  view(name: string): NDArray {
    const t = this.cur[name];
    if (!t) throw new Error(`state: no entry ${name}`);
    return fromOrt(t);
  }

  /** Views of every current value, by name. */
  snapshot(): Record<string, NDArray> {
    return Object.fromEntries(Object.entries(this.cur).map(([k, v]) => [k, fromOrt(v)]));
  }

  /** Overwrites the current values of the names in `part` (each must exist, with an equal shape). */
  assign(part: Readonly<Record<string, NDArray>>): void {
    for (const [k, s] of Object.entries(part)) {
      const t = this.cur[k];
      if (!t) throw new Error(`state: no entry ${k}`);
      if (s.shape.join(',') !== t.dims.join(','))
        throw new Error(`state ${k} has shape ${formatShape(s.shape)}, expected ${formatShape(t.dims)}`);
      (t.data as Float32Array).set(s.data as Float32Array);
    }
  }

  /** Overwrites every current value from `state` (which must hold each name, with equal shapes). */
  load(state: Readonly<Record<string, NDArray>>, what = 'state'): void {
    for (const [k, t] of Object.entries(this.cur)) {
      const s = state[k];
      if (!s) throw new Error(`${what} lacks ${k}`);
      if (s.shape.join(',') !== t.dims.join(','))
        throw new Error(`${what} ${k} has shape ${formatShape(s.shape)}, model has ${formatShape(t.dims)}`);
      (t.data as Float32Array).set(s.data as Float32Array);
    }
  }
}
