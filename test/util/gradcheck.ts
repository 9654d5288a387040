// Numerical gradient checking: analytic VJPs (traced, run in ORT) against central finite differences.
import assert from 'node:assert/strict';
import { gradients } from '../../src/autodiff/index.js';
import { compile } from '../../src/runtime/compile.js';
import { trace } from '../../src/onnx/trace.js';
import { constant, mul, sum } from '../../src/graph/ops/index.js';
import { ndarray, type NDArray } from '../../src/graph/ndarray.js';
import type { Tensor } from '../../src/graph/tensor.js';
import type { DType } from '../../src/graph/dtype.js';
import { isFloat } from '../../src/graph/dtype.js';

/** Deterministic normal-ish numbers (xorshift + Box–Muller) for test inputs. */
function rng(seed = 1): () => number {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export function randn(shape: readonly number[], seed = 1, dtype: DType = 'float64', scale = 1, offset = 0): NDArray {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return ndarray(
    dtype,
    shape,
    Array.from({ length: n }, () => r() * scale + offset),
  );
}

export interface GradCheckOptions {
  readonly eps?: number;
  readonly atol?: number;
  readonly rtol?: number;
  /** Which inputs to differentiate (default: every floating-point input). */
  readonly wrt?: readonly number[];
  readonly seed?: number;
  /** ORT intra-op threads for the analytic and numeric runs (default: LATHE_THREADS or the number of cores). */
  readonly threads?: number;
}

/** Asserts that the VJP of `f` at `inputs` matches central differences of sum(f · ct) for a random ct. */
export async function checkGrad(
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly NDArray[],
  opts: GradCheckOptions = {},
): Promise<void> {
  const probe = trace(
    f,
    inputs.map((a) => ({ dtype: a.dtype, shape: a.shape })),
  );
  const outInfo = probe.model.graph.output[0].type!.tensorType!;
  const outShape = (outInfo.shape?.dim ?? []).map((d) => ('dimValue' in d ? Number(d.dimValue) : NaN));
  const outDtype = inputs.find((a) => isFloat(a.dtype))!.dtype;
  const ct = randn(outShape, (opts.seed ?? 7) + 1000, outDtype);
  const wrt = opts.wrt ?? inputs.flatMap((a, i) => (isFloat(a.dtype) ? [i] : []));
  const loss = (...xs: Tensor[]) => sum(mul(f(...xs), constant(ct)));
  const session = opts.threads ? { threads: opts.threads } : {};
  const lossFn = compile(loss, session);
  const gradFn = compile(
    (...xs: Tensor[]) =>
      gradients(
        loss(...xs),
        wrt.map((i) => xs[i]),
      ),
    session,
  );
  const analytic = await gradFn(...inputs);
  const eps = opts.eps ?? (outDtype === 'float64' ? 1e-6 : 1e-3);
  const atol = opts.atol ?? (outDtype === 'float64' ? 1e-6 : 2e-2);
  const rtol = opts.rtol ?? (outDtype === 'float64' ? 1e-5 : 2e-2);
  for (const [k, i] of wrt.entries()) {
    const base = inputs[i];
    const data = Float64Array.from(base.data as ArrayLike<number>);
    const g = analytic[k];
    for (let j = 0; j < data.length; j++) {
      const at = (v: number) => {
        const d = data.slice();
        d[j] = v;
        const xs = inputs.slice();
        xs[i] = ndarray(base.dtype, base.shape, d);
        return lossFn(...xs);
      };
      const [p, m] = await Promise.all([at(data[j] + eps), at(data[j] - eps)]);
      const num = (Number(p.data[0]) - Number(m.data[0])) / (2 * eps);
      const ana = Number(g.data[j]);
      const tol = atol + rtol * Math.abs(num);
      assert.ok(
        Math.abs(num - ana) <= tol,
        `${name}: d/dx${i}[${j}] analytic ${ana} vs numeric ${num} (|diff| ${Math.abs(num - ana)} > ${tol})`,
      );
    }
  }
}

/** Asserts two arrays match elementwise within atol + rtol·|expected|. */
export function assertClose(
  actual: ArrayLike<number | bigint>,
  expected: ArrayLike<number>,
  atol = 1e-6,
  rtol = 1e-5,
  label = '',
): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${label}[${i}]: ${a} vs expected ${e}`);
  }
}
