// Forward values and gradients of every op family against PyTorch 1.13 reference values
// (test/fixtures/torch/*.json, made once by scripts/fixtures/gen_torch_op_fixtures.py; the tests need no torch).
import { describe, test } from 'node:test';
import { readFileSync, readdirSync } from 'node:fs';
import * as L from '../../src/graph/index.js';
import * as nn from '../../src/nn/losses.js';
import { vjpGraph } from '../../src/autodiff/vjp.js';
import { compile } from '../../src/runtime/compile.js';
import { assertClose } from '../util/gradcheck.js';

interface Arr {
  shape: number[];
  dtype?: string;
  data: number[];
}
interface Case {
  name: string;
  op: string;
  attrs: Record<string, unknown>;
  inputs: Arr[];
  output?: Arr;
  outputs?: (Arr | null)[];
  cotangent?: Arr;
  cotangents?: (Arr | null)[];
  grads?: (Arr | null)[];
}
// biome-ignore lint/suspicious/noExplicitAny: `a` is one case's attributes as the PyTorch generator wrote them to the fixture JSON; each op reads its own fields, and a wrong one fails that op's comparison
type Fn = (xs: L.Tensor[], a: Record<string, any>) => L.Tensor | L.Tensor[];

const pairOf = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v as number, v as number]);
const convPad = (p: unknown): L.Conv2dOptions['padding'] => (p === 'same' || p === 'valid' ? p : pairOf(p));

const OPS: Record<string, Fn> = {
  add: ([a, b]) => L.add(a, b),
  sub: ([a, b]) => L.sub(a, b),
  mul: ([a, b]) => L.mul(a, b),
  div: ([a, b]) => L.div(a, b),
  pow: ([a, b]) => L.pow(a, b),
  maximum: ([a, b]) => L.maximum(a, b),
  minimum: ([a, b]) => L.minimum(a, b),
  neg: ([x]) => L.neg(x),
  abs: ([x]) => L.abs(x),
  exp: ([x]) => L.exp(x),
  log: ([x]) => L.log(x),
  sqrt: ([x]) => L.sqrt(x),
  rsqrt: ([x]) => L.rsqrt(x),
  reciprocal: ([x]) => L.reciprocal(x),
  sin: ([x]) => L.sin(x),
  cos: ([x]) => L.cos(x),
  tanh: ([x]) => L.tanh(x),
  sigmoid: ([x]) => L.sigmoid(x),
  relu: ([x]) => L.relu(x),
  silu: ([x]) => L.silu(x),
  leakyRelu: ([x], a) => L.leakyRelu(x, a.alpha),
  elu: ([x], a) => L.elu(x, a.alpha),
  gelu: ([x], a) => L.gelu(x, a.approximate),
  softplus: ([x], a) => {
    if ((a.beta ?? 1) !== 1) throw new Error('beta');
    return L.where(L.greater(x, a.threshold ?? 20), x, L.softplus(x));
  },
  clamp: ([x], a) => L.clamp(x, a.min ?? undefined, a.max ?? undefined),
  where: ([c, a, b]) => L.where(L.cast(c, 'bool'), a, b),
  sum: ([x], a) => L.sum(x, a.axes, a.keepdim),
  mean: ([x], a) => L.mean(x, a.axes, a.keepdim),
  max: ([x], a) => L.max(x, a.axes, a.keepdim),
  min: ([x], a) => L.min(x, a.axes, a.keepdim),
  prod: ([x], a) => L.prod(x, a.axes, a.keepdim),
  logsumexp: ([x], a) => L.logsumexp(x, a.axes, a.keepdim),
  var: ([x], a) => L.variance(x, a.axes, { correction: a.correction, keepdim: a.keepdim }),
  argmax: ([x], a) => L.argmax(x, a.axis, a.keepdim),
  argmin: ([x], a) => L.argmin(x, a.axis, a.keepdim),
  matmul: ([a, b]) => L.matmul(a, b),
  linear: ([x, w, b]) => L.linear(x, w, b),
  einsum: (xs, a) => L.einsum(a.equation, ...xs),
  reshape: ([x], a) => L.reshape(x, a.shape),
  flatten: ([x], a) => L.flatten(x, a.startDim, a.endDim),
  squeeze: ([x], a) => L.squeeze(x, a.axes),
  unsqueeze: ([x], a) => L.unsqueeze(x, a.axes),
  transpose: ([x], a) => L.transpose(x, a.perm),
  expand: ([x], a) => L.expand(x, a.shape),
  concat: (xs, a) => L.concat(xs, a.axis),
  stack: (xs, a) => L.stack(xs, a.axis),
  split: ([x], a) => L.split(x, a.sizes, a.axis),
  slice: ([x], a) => L.slice(x, { starts: a.starts, ends: a.ends, axes: a.axes, steps: a.steps }),
  pad: ([x], a) => L.pad(x, a.pads, a.mode, a.value ?? 0),
  tile: ([x], a) => L.tile(x, a.repeats),
  triu: ([x], a) => L.triu(x, a.diagonal),
  tril: ([x], a) => L.tril(x, a.diagonal),
  cumsum: ([x], a) => L.cumsum(x, a.axis, { exclusive: a.exclusive, reverse: a.reverse }),
  gather: ([x, i], a) => L.gather(x, i, a.axis),
  gatherElements: ([x, i], a) => L.gatherElements(x, i, a.axis),
  scatterAdd: ([x, i, s], a) => L.scatterAdd(x, a.axis, i, s),
  embedding: ([w, i]) => L.embedding(i, w),
  oneHot: ([i], a) => L.oneHot(i, a.depth, 'int64'),
  topk: ([x], a) => L.topk(x, a.k, a.axis, a.largest),
  conv1d: ([x, w, b], a) =>
    L.conv1d(x, w, b, {
      stride: Array.isArray(a.stride) ? a.stride[0] : a.stride,
      padding: a.padding === 'same' ? 'same' : Array.isArray(a.padding) ? a.padding[0] : a.padding,
      dilation: Array.isArray(a.dilation) ? a.dilation[0] : a.dilation,
      groups: a.groups,
    }),
  conv2d: ([x, w, b], a) =>
    L.conv2d(x, w, b, {
      stride: pairOf(a.stride),
      padding: convPad(a.padding),
      dilation: pairOf(a.dilation),
      groups: a.groups,
    }),
  convTranspose2d: ([x, w, b], a) =>
    L.convTranspose2d(x, w, b, {
      stride: pairOf(a.stride),
      padding: pairOf(a.padding),
      outputPadding: pairOf(a.outputPadding),
      dilation: pairOf(a.dilation),
      groups: a.groups,
    }),
  maxPool2d: ([x], a) => {
    if (a.ceilMode) throw new Error('ceilMode');
    return L.maxPool2d(x, pairOf(a.kernelSize), {
      stride: pairOf(a.stride ?? a.kernelSize),
      padding: pairOf(a.padding ?? 0),
    });
  },
  avgPool2d: ([x], a) => {
    if (a.ceilMode) throw new Error('ceilMode');
    return L.avgPool2d(x, pairOf(a.kernelSize), {
      stride: pairOf(a.stride ?? a.kernelSize),
      padding: pairOf(a.padding ?? 0),
      countIncludePad: a.countIncludePad,
    });
  },
  adaptiveAvgPool2d: ([x], a) => L.adaptiveAvgPool2d(x, pairOf(a.outputSize)),
  globalAvgPool: ([x]) => L.globalAvgPool(x),
  softmax: ([x], a) => L.softmax(x, a.axis),
  logSoftmax: ([x], a) => L.logSoftmax(x, a.axis),
  layerNorm: ([x, w, b], a) => L.layerNorm(x, w, b, { eps: a.eps, normalizedDims: a.normalizedShape.length }),
  groupNorm: ([x, w, b], a) => L.groupNorm(x, a.groups, w, b, a.eps),
  batchNorm: ([x, w, b, m, v], a) => {
    const r = L.batchNorm(x, w, b, m, v, { training: a.training, momentum: a.momentum, eps: a.eps });
    return a.training ? [r.y, r.runningMean, r.runningVar] : r.y;
  },
  crossEntropy: ([x, t, w], a) => {
    const logits =
      x.rank > 2
        ? L.reshape(L.transpose(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1]), [-1, x.shape[1]])
        : x;
    const tt = t.rank > 1 ? L.reshape(t, [-1]) : t;
    return nn.crossEntropy(logits, tt, { labelSmoothing: a.labelSmoothing, ignoreIndex: a.ignoreIndex, weight: w });
  },
  nllLoss: ([x, t, w], a) => nn.nllLoss(x, t, { ignoreIndex: a.ignoreIndex, weight: w }),
  bceWithLogits: ([x, y, pw]) => nn.bceWithLogits(x, y, { posWeight: pw }),
  mseLoss: ([x, y]) => nn.mseLoss(x, y),
  l1Loss: ([x, y]) => nn.l1Loss(x, y),
  huberLoss: ([x, y], a) => nn.huberLoss(x, y, a.delta),
  klDiv: ([x, y], a) => nn.klDiv(x, y, { logTarget: a.logTarget, reduction: a.reduction }),
};

const dir = 'test/fixtures/torch';
const toND = (a: Arr, dtype?: string) => L.ndarray((dtype ?? a.dtype ?? 'float64') as L.DType, a.shape, a.data);

async function runCase(c: Case, dtype: 'float64' | 'float32'): Promise<void> {
  const fn = OPS[c.op];
  const inputs = c.inputs.map((a) => toND(a, a.dtype === 'float64' ? dtype : a.dtype));
  const outs = c.outputs ?? [c.output!];
  const cts = c.cotangents ?? [c.cotangent ?? null];
  const f = compile((...xs: L.Tensor[]) => {
    const y = fn(xs, c.attrs);
    const ys = Array.isArray(y) ? y : [y];
    const pairs = ys.map((t, i) => [t, cts[i]] as const).filter(([t, ct]) => ct && L.isFloat(t.dtype));
    const grads = c.grads
      ? vjpGraph(
          pairs.map(([t]) => t),
          xs,
          pairs.map(([t, ct]) => L.constant(toND(ct!, t.dtype))),
        )
      : [];
    return [...ys, ...grads.filter((g, i) => g && c.grads![i])] as L.Tensor[];
  });
  const res = await f(...inputs);
  const [atol, rtol] = dtype === 'float64' ? [1e-7, 1e-6] : [2e-4, 2e-4];
  outs.forEach(
    (o, i) => o && assertClose(res[i].data as ArrayLike<number>, o.data, atol, rtol, `${c.name} output ${i}`),
  );
  let k = outs.length;
  (c.grads ?? []).forEach((g, i) => {
    if (!g) return;
    assertClose(res[k++].data as ArrayLike<number>, g.data, atol * 10, rtol * 10, `${c.name} grad ${i}`);
  });
}

for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const cases = (JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as { cases: Case[] }).cases;
  describe(`PyTorch reference: ${file}`, () => {
    for (const c of cases) {
      test(c.name, async (t) => {
        if (!OPS[c.op]) throw new Error(`no lathe op mapped for ${c.op}`);
        try {
          await runCase(c, 'float64');
        } catch (err) {
          const msg = String((err as Error).message);
          if (msg === 'ceilMode' || msg === 'beta') return t.skip(`PyTorch option ${msg} is not part of lathe's op`);
          // ORT's CPU provider lacks float64 kernels for some ops (Conv, pooling, LayerNormalization, Gelu, ...)
          if (/NOT_IMPLEMENTED|Could not find an implementation|not implemented/i.test(msg))
            return runCase(c, 'float32');
          throw err;
        }
      });
    }
  });
}
