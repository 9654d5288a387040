// `npm run bench -- segment [--json]`: the message-passing lowering at Cora's size (E = 13,264 edges with self loops
// into N = 2,708 nodes, R features): segmentSum as sorted float64 prefix sums (the lowering in use) against
// ScatterElements(add) and OneHot(seg)ᵀ·x as one Gemm, each at 1 and 2 intra-op threads, and whether 2 threads give
// the same bits as 1 (ScatterND races; the lowering must not).
import { float32, int64, type NDArray } from '../src/graph/ndarray.js';
import { cast } from '../src/graph/ops/elementwise.js';
import { oneHot, scatterAdd } from '../src/graph/ops/indexing.js';
import { expand, full, unsqueeze } from '../src/graph/ops/movement.js';
import { gemm } from '../src/graph/ops/linalg.js';
import { segmentSum } from '../src/graph/ops/segment.js';
import type { Tensor } from '../src/graph/tensor.js';
import { compile } from '../src/runtime/compile.js';
import { median, report } from './_peer.js';

const N = 2708;
const E = 13264;

async function time(f: (...a: NDArray[]) => Promise<unknown>, args: NDArray[], reps = 20): Promise<number> {
  for (let i = 0; i < 3; i++) await f(...args);
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await f(...args);
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  const seg = int64(
    [E],
    Array.from({ length: E }, () => Math.floor(rnd() * N)),
  );
  const nodes = float32([N, 1], new Float32Array(N));
  for (const R of [16, 64]) {
    const x = float32(
      [E, R],
      Float32Array.from({ length: E * R }, () => rnd() - 0.5),
    );
    const out: Record<string, number> = {};
    let bits1: Float32Array | undefined;
    let same = true;
    for (const threads of [1, 2]) {
      const sorted = compile((v: Tensor, i: Tensor, n: Tensor) => segmentSum(v, i, n), { threads });
      const scatter = compile(
        (v: Tensor, i: Tensor) => scatterAdd(full([N, R], 0), 0, expand(unsqueeze(i, 1), [E, R]), v),
        { threads },
      );
      const onehot = compile((v: Tensor, i: Tensor) => gemm(cast(oneHot(i, N), 'float32'), v, { transA: true }), {
        threads,
      });
      out[`sorted_cumsum_ms_t${threads}`] = round(await time(sorted, [x, seg, nodes]), 3);
      out[`scatter_elements_ms_t${threads}`] = round(await time(scatter, [x, seg]), 3);
      out[`onehot_ms_t${threads}`] = round(await time(onehot, [x, seg], 5), 3);
      for (let k = 0; k < 5; k++) {
        const y = (await sorted(x, seg, nodes)).data as Float32Array;
        if (!bits1) bits1 = y.slice();
        else if (!y.every((v, j) => Object.is(v, bits1![j]))) same = false;
      }
    }
    report(
      json,
      { workload: `segment-sum-${E}x${R}`, ...out, deterministic_across_threads: same },
      `segmentSum E=${E} R=${R}: ${JSON.stringify(out)} same bits at 1 and 2 threads: ${same}`,
    );
  }
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
