// ONNX backend-test conformance of the importer: every test of ONNX's own backend suite (Debian's libonnx-testdata,
// /usr/share/libonnx-testdata/data/{node,pytorch-converted,pytorch-operator,simple}/) is imported with importOnnx,
// traced into a lathe graph, run by ORT through compile(), and compared with the expected outputs the way ONNX's
// runner does (rtol 1e-3, atol 1e-7; integers and booleans exactly). Each test is also run by ORT directly on the
// original model, so the figures can be read against what ORT itself passes.
//
//   node dist/scripts/onnx-conformance.js [--suite node] [--filter substring] [--json] [--write-expectations FILE]
//
// Classes: pass; wrong (runs, outputs differ: a silent error); crash (any error that is not a refusal); refused
// (UnsupportedOnnxError: the importer declines, naming op, node and reason); not-representable (inputs or outputs
// that are not tensors of a dtype lathe holds, e.g. sequences, optionals, strings).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ONNX_DTYPE, halfToFloat, type DType } from '../src/graph/dtype.js';
import type { NDArray } from '../src/graph/ndarray.js';
import * as op from '../src/graph/ops/index.js';
import type { Tensor } from '../src/graph/tensor.js';
import { decodeModel, decodeTensor, tensorToTypedArray } from '../src/onnx/decode.js';
import { importOnnx, UnsupportedOnnxError } from '../src/onnx/import.js';
import type { ModelProto, TensorProto } from '../src/onnx/proto.js';
import { compile } from '../src/runtime/compile.js';
import { toOrt } from '../src/runtime/convert.js';

ort.env.logLevel = 'error';

/** Where Debian's libonnx-testdata installs the suite. */
export const SUITE_ROOT = '/usr/share/libonnx-testdata/data';
export const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'] as const;

export type Outcome = 'pass' | 'wrong' | 'crash' | 'refused' | 'not-representable';

export interface CaseResult {
  /** `suite/test_name`. */
  readonly id: string;
  readonly outcome: Outcome;
  /** Why it is not a pass (the refusal, the error, or the first mismatch). */
  readonly reason?: string;
  /** Whether ORT itself, run on the original model, reproduces the expected outputs. */
  readonly ortPasses: boolean;
  readonly ms: number;
}

const RTOL = 1e-3;
const ATOL = 1e-7;
/** Element types lathe can feed to and read back from onnxruntime-node (runtime/convert.ts): not int16, uint16, bfloat16. */
const KNOWN: ReadonlySet<number> = new Set(
  (['float32', 'float64', 'float16', 'int32', 'int64', 'bool', 'uint8', 'int8', 'uint32', 'uint64'] as const).map(
    (d) => ONNX_DTYPE[d],
  ),
);

interface Case {
  readonly inputs: NDArray[];
  readonly expected: NDArray[];
}

function toNDArray(t: TensorProto): NDArray {
  const dtype = (Object.entries(ONNX_DTYPE).find(([, v]) => v === t.dataType)?.[0] ?? 'float32') as DType;
  return { dtype, shape: t.dims.map(Number), data: tensorToTypedArray(t) as NDArray['data'] };
}

function readCases(dir: string): Case[] {
  return readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort()
    .map((d) => {
      const files = readdirSync(join(dir, d));
      const load = (prefix: string) =>
        files
          .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
          .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)))
          .map((f) => toNDArray(decodeTensor(readFileSync(join(dir, d, f)))));
      return { inputs: load('input_'), expected: load('output_') };
    });
}

/** Why the model's interface is not representable as lathe tensors, or undefined when it is. */
function unrepresentable(m: ModelProto): string | undefined {
  for (const vi of [...m.graph.input, ...m.graph.output]) {
    const tt = vi.type?.tensorType;
    if (!tt) return `${vi.name} is not a tensor (sequence, map or optional)`;
    if (!KNOWN.has(tt.elemType))
      return `${vi.name} has ONNX element type ${tt.elemType}, which lathe cannot feed to or read from onnxruntime-node`;
  }
  return undefined;
}

const asNumbers = (a: NDArray): number[] =>
  a.dtype === 'float16'
    ? Array.from(a.data as Uint16Array, halfToFloat)
    : Array.from(a.data as ArrayLike<number | bigint>, Number);

/** The first difference between `got` and `want` (ONNX's tolerances), or undefined when they agree. */
function mismatch(got: NDArray, want: NDArray, what: string): string | undefined {
  if (got.dtype !== want.dtype) return `${what}: dtype ${got.dtype}, expected ${want.dtype}`;
  if (got.shape.join(',') !== want.shape.join(',')) return `${what}: shape [${got.shape}], expected [${want.shape}]`;
  const exact = !(
    want.dtype === 'float32' ||
    want.dtype === 'float64' ||
    want.dtype === 'float16' ||
    want.dtype === 'bfloat16'
  );
  if (exact && (want.dtype === 'int64' || want.dtype === 'uint64')) {
    const g = got.data as BigInt64Array,
      w = want.data as BigInt64Array;
    for (let i = 0; i < w.length; i++) if (g[i] !== w[i]) return `${what}[${i}]: ${g[i]}, expected ${w[i]}`;
    return undefined;
  }
  const g = asNumbers(got),
    w = asNumbers(want);
  for (let i = 0; i < w.length; i++) {
    if (Number.isNaN(w[i]) && Number.isNaN(g[i])) continue;
    if (exact ? g[i] !== w[i] : !(Math.abs(g[i] - w[i]) <= ATOL + RTOL * Math.abs(w[i]) || g[i] === w[i]))
      return `${what}[${i}]: ${g[i]}, expected ${w[i]}`;
  }
  return undefined;
}

async function ortPasses(
  path: string,
  names: readonly string[],
  outs: readonly string[],
  cases: readonly Case[],
): Promise<boolean> {
  try {
    const s = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
    for (const c of cases) {
      const res = await s.run(Object.fromEntries(names.map((n, i) => [n, toOrt(c.inputs[i])])));
      for (let i = 0; i < c.expected.length; i++) {
        const t = res[outs[i]];
        const got: NDArray = { dtype: t.type as DType, shape: [...t.dims], data: t.data as NDArray['data'] };
        if (mismatch(got, c.expected[i], outs[i])) return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

/** Runs one test through importOnnx → compile and, unless `withOrt` is false, through ORT directly on the file. */
export async function runCase(suite: string, name: string, withOrt = true, root = SUITE_ROOT): Promise<CaseResult> {
  const dir = join(root, suite, name);
  const path = join(dir, 'model.onnx');
  const t0 = performance.now();
  const id = `${suite}/${name}`;
  const done = (outcome: Outcome, ort: boolean, reason?: string): CaseResult => ({
    id,
    outcome,
    reason,
    ortPasses: ort,
    ms: Math.round(performance.now() - t0),
  });
  const model = decodeModel(readFileSync(path));
  const bad = unrepresentable(model);
  let cases: Case[];
  try {
    if (bad) throw new Error(bad);
    cases = readCases(dir);
  } catch (err) {
    return done('not-representable', false, (err as Error).message);
  }
  const inits = new Set(model.graph.initializer.map((t) => t.name));
  const inputNames = model.graph.input.map((v) => v.name).filter((n) => !inits.has(n));
  const outputNames = model.graph.output.map((v) => v.name);
  const ortOk = withOrt ? await ortPasses(path, inputNames, outputNames, cases) : false;
  try {
    const g = importOnnx(model);
    const params = Object.fromEntries(Object.entries(g.params).map(([k, v]) => [k, op.constant(v)]));
    const names = g.inputs.map((i) => i.name);
    const fn = compile((...xs: Tensor[]) => {
      const outs = g.apply(Object.fromEntries(names.map((n, i) => [n, xs[i]])), params);
      return Object.fromEntries(g.outputs.map((o) => [o, outs[o]]));
    });
    for (const c of cases) {
      const got = (await fn(...c.inputs.slice(0, names.length))) as Record<string, NDArray>;
      for (let i = 0; i < c.expected.length; i++) {
        const diff = mismatch(got[g.outputs[i]], c.expected[i], g.outputs[i]);
        if (diff) return done('wrong', ortOk, diff);
      }
    }
    return done('pass', ortOk);
  } catch (err) {
    const message = (err as Error).message.split('\n')[0].slice(0, 300);
    return done(err instanceof UnsupportedOnnxError ? 'refused' : 'crash', ortOk, message);
  }
}

/** The test directories of a suite (names), optionally those whose name contains `filter`. */
export function listTests(suite: string, filter?: string, root = SUITE_ROOT): string[] {
  const dir = join(root, suite);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(
      (d) => existsSync(join(dir, d, 'model.onnx')) && (!filter || d.toLowerCase().includes(filter.toLowerCase())),
    )
    .sort();
}

/** Per-suite counts of each outcome, and how many tests ORT itself passes (and how many of those lathe passes). */
function summarize(
  results: readonly CaseResult[],
): Record<string, Record<Outcome | 'total' | 'ortPasses' | 'passOfOrt', number>> {
  const out: Record<string, Record<Outcome | 'total' | 'ortPasses' | 'passOfOrt', number>> = {};
  for (const r of results) {
    const suite = r.id.split('/')[0];
    const s = (out[suite] ??= {
      total: 0,
      pass: 0,
      wrong: 0,
      crash: 0,
      refused: 0,
      'not-representable': 0,
      ortPasses: 0,
      passOfOrt: 0,
    });
    s.total++;
    s[r.outcome]++;
    if (r.ortPasses) s.ortPasses++;
    if (r.ortPasses && r.outcome === 'pass') s.passOfOrt++;
  }
  return out;
}

async function main(argv: readonly string[]): Promise<void> {
  const arg = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (!existsSync(SUITE_ROOT)) {
    console.error(
      `onnx-conformance: ${SUITE_ROOT} is absent; install Debian's libonnx-testdata (apt-get install libonnx-testdata)`,
    );
    process.exit(2);
  }
  const suiteArg = arg('--suite');
  if (suiteArg && !(SUITES as readonly string[]).includes(suiteArg)) {
    console.error(`onnx-conformance: --suite must be one of ${SUITES.join(', ')}; got '${suiteArg}'`);
    process.exit(2);
  }
  const suites = suiteArg ? [suiteArg] : [...SUITES];
  const filter = arg('--filter');
  const results: CaseResult[] = [];
  const t0 = performance.now();
  for (const suite of suites) {
    const names = listTests(suite, filter);
    for (const [i, name] of names.entries()) {
      const r = await runCase(suite, name);
      results.push(r);
      if (!argv.includes('--json')) {
        if (r.outcome !== 'pass' || argv.includes('--verbose'))
          console.log(
            `${r.outcome.padEnd(17)} ${r.id}${r.ortPasses ? '' : ' (ORT fails)'}${r.reason ? `: ${r.reason}` : ''}`,
          );
        if ((i + 1) % 100 === 0) console.error(`  ${suite}: ${i + 1}/${names.length}`);
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const expectations = arg('--write-expectations');
  if (expectations) {
    writeFileSync(
      expectations,
      `${JSON.stringify(Object.fromEntries(results.map((r) => [r.id, r.outcome])), null, 1)}\n`,
    );
  }
  if (argv.includes('--json')) console.log(JSON.stringify({ seconds, summary: summarize(results), results }));
  else {
    console.log(JSON.stringify(summarize(results), null, 1));
    console.log(`${results.length} tests in ${seconds.toFixed(1)} s`);
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
