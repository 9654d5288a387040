// ONNX RNN, GRU and LSTM (layout 0) lowered into lathe ops, unrolled over a sequence length known at import time,
// so an imported recurrent model differentiates and fine-tunes like any other graph. Forms this does not cover
// (a run-time sequence length, sequence_lens, clip, input_forget, activations other than the defaults) are left to
// the caller, which runs the ONNX node as it is (forward only).
import * as op from '../graph/ops/index.js';
import type { Tensor } from '../graph/tensor.js';

/** The attributes of an RNN/GRU/LSTM node that the lowering reads. */
export interface RecurrentAttrs {
  readonly hiddenSize: number;
  readonly direction: string;
  /** The `activations` attribute, or undefined for the op's defaults. */
  readonly activations?: readonly string[];
  readonly clip?: number;
  readonly inputForget: number;
  readonly linearBeforeReset: number;
}

/** Gates per op, in ONNX's order (LSTM i o f c, GRU z r h, RNN one). */
const GATES: Readonly<Record<string, number>> = { RNN: 1, GRU: 3, LSTM: 4 };
const DEFAULT_ACTIVATIONS: Readonly<Record<string, readonly string[]>> = {
  RNN: ['Tanh'],
  GRU: ['Sigmoid', 'Tanh'],
  LSTM: ['Sigmoid', 'Tanh', 'Tanh'],
};

/** Direction `d` of a [dirs, ...] tensor. */
const pick = (t: Tensor, d: number): Tensor => op.squeeze(op.slice(t, { starts: [d], ends: [d + 1], axes: [0] }), [0]);

/**
 * Lowers ONNX `opType` (RNN, GRU or LSTM) over inputs X, W, R, B, sequence_lens, initial_h, initial_c, P (absent
 * ones undefined) into unrolled lathe ops; returns Y [T, dirs, B, H], Y_h and (LSTM) Y_c [dirs, B, H], or
 * undefined when the node's form is not covered (see the file comment).
 */
export function lowerRecurrent(
  opType: string,
  a: RecurrentAttrs,
  ins: readonly (Tensor | undefined)[],
): Tensor[] | undefined {
  const [x, w, r, b, seqLens, h0, c0, peep] = ins;
  const gates = GATES[opType];
  if (!x || !w || !r || gates === undefined) return undefined;
  const steps = x.shape[0];
  const defaults = DEFAULT_ACTIVATIONS[opType];
  const dirs = a.direction === 'bidirectional' ? 2 : 1;
  const activationsOk =
    a.activations === undefined ||
    a.activations.every((f, i) => f.toLowerCase() === defaults[i % defaults.length].toLowerCase());
  if (
    typeof steps !== 'number' ||
    steps < 1 ||
    seqLens ||
    a.clip !== undefined ||
    a.inputForget !== 0 ||
    !activationsOk
  )
    return undefined;
  const hs = a.hiddenSize > 0 ? a.hiddenSize : r.shape[2];
  if (typeof hs !== 'number') return undefined;
  const batch = x.shape[1];
  const ys: Tensor[] = [];
  const hLast: Tensor[] = [];
  const cLast: Tensor[] = [];
  for (let d = 0; d < dirs; d++) {
    const reverse = a.direction === 'reverse' || d === 1;
    const wd = pick(w, d);
    const rt = op.transpose(pick(r, d));
    const bd = b ? op.split(pick(b, d), 2, 0) : undefined; // [Wb; Rb]
    // the input projection of all steps at once: [T, B, G·H]
    const xp = op.split(op.matmul(x, op.transpose(wd)), steps, 0).map((s) => op.squeeze(s, [0]));
    const zeros = op.expand(op.scalar(0, x.dtype), [batch, hs]);
    let h = h0 ? pick(h0, d) : zeros;
    let c = c0 ? pick(c0, d) : zeros;
    const pd = peep ? op.split(pick(peep, d), 3, 0) : undefined; // [Pi; Po; Pf]
    const out = new Array<Tensor>(steps);
    for (let k = 0; k < steps; k++) {
      const t = reverse ? steps - 1 - k : k;
      const xi = bd ? op.add(xp[t], bd[0]) : xp[t];
      if (opType === 'GRU') {
        const [xz, xr, xh] = op.split(xi, 3, 1);
        const rb = bd ? op.split(bd[1], 3, 0) : undefined;
        const [rz, rr, rh] = op.split(op.matmul(h, rt), 3, 1).map((v, i) => (rb ? op.add(v, rb[i]) : v));
        const z = op.sigmoid(op.add(xz, rz));
        const rg = op.sigmoid(op.add(xr, rr));
        let cand: Tensor;
        if (a.linearBeforeReset !== 0) cand = op.tanh(op.add(xh, op.mul(rg, rh)));
        else {
          // (r ⊙ H)·Rhᵀ + Rbh: the reset gate applies before the recurrent product
          const rhT = op.slice(rt, { starts: [2 * hs], ends: [3 * hs], axes: [1] });
          const lin = op.matmul(op.mul(rg, h), rhT);
          cand = op.tanh(op.add(xh, rb ? op.add(lin, rb[2]) : lin));
        }
        h = op.add(op.mul(op.sub(1, z), cand), op.mul(z, h));
      } else {
        let pre = op.add(xi, op.matmul(h, rt));
        if (bd) pre = op.add(pre, bd[1]);
        if (opType === 'RNN') h = op.tanh(pre);
        else {
          // ONNX gate order i, o, f, c; peepholes P = [Pi, Po, Pf] (Po reads the new cell state)
          const [pi, po, pf, pc] = op.split(pre, 4, 1);
          const ig = op.sigmoid(pd ? op.add(pi, op.mul(pd[0], c)) : pi);
          const fg = op.sigmoid(pd ? op.add(pf, op.mul(pd[2], c)) : pf);
          c = op.add(op.mul(fg, c), op.mul(ig, op.tanh(pc)));
          const og = op.sigmoid(pd ? op.add(po, op.mul(pd[1], c)) : po);
          h = op.mul(og, op.tanh(c));
        }
      }
      out[t] = h;
    }
    ys.push(
      op.concat(
        out.map((v) => op.unsqueeze(v, [0, 1])),
        0,
      ),
    ); // [T, 1, B, H]
    hLast.push(op.unsqueeze(h, [0]));
    cLast.push(op.unsqueeze(c, [0]));
  }
  const cat = (vs: Tensor[], axis: number) => (vs.length === 1 ? vs[0] : op.concat(vs, axis));
  const outs = [cat(ys, 1), cat(hLast, 0)];
  if (opType === 'LSTM') outs.push(cat(cLast, 0));
  return outs;
}
