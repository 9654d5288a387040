// One direction of one LSTM/GRU layer over a whole sequence, with a hand-written VJP (graph/ops/differentiation.ts).
// Why not plain autodiff: differentiating the unrolled steps gives one small weight-gradient Gemm per step plus
// the adds that sum them, and several elementwise kernels per gate. Here each forward step also computes the
// factors its backward needs (while its values are in cache; passes over [B, T, 4H] tensors after the loop were
// slower), the backward recurrence carries only the state gradients (per step one Gemm, one Concat and four or
// three elementwise kernels), and the weight gradients are ONE Gemm each over the gate gradients of all steps
// (DESIGN.md, backward lowerings). Layout: steps are stacked along axis 1 ([B, T·k] viewed as [B·T, k]), so the
// rows line up with x [B, T, I] reshaped to [B·T, I] without a transpose.
import { customVjp } from '../../graph/ops/differentiation.js';
import { ndarray } from '../../graph/ndarray.js';
import { add, mul, neg, sigmoid, sub, tanh } from '../../graph/ops/elementwise.js';
import { constant } from '../../graph/ops/leaf.js';
import { gemm } from '../../graph/ops/linalg.js';
import { concat, reshape, split, transpose, zerosLike } from '../../graph/ops/movement.js';
import { sum } from '../../graph/ops/reduce.js';
import type { Tensor } from '../../graph/tensor.js';

export interface SequenceArgs {
  /** [B, T, I] */
  readonly x: Tensor;
  /** [G·H, I] and [G·H, H], PyTorch layout (G = 4 for LSTM, 3 for GRU). */
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh?: Tensor;
  readonly biasHh?: Tensor;
  /** Initial states [B, H] (default zeros). */
  readonly h0?: Tensor;
  readonly c0?: Tensor;
  /** [B, T] in x's dtype: 1 for real steps, 0 for padding (the state is kept, the output is 0). */
  readonly mask?: Tensor;
  /** Run from the last step to the first. */
  readonly reverse: boolean;
}

export interface SequenceResult {
  /** [B, T, H] */
  readonly y: Tensor;
  /** Final states [B, H]. */
  readonly h: Tensor;
  readonly c?: Tensor;
}

/** Named optional inputs → the positional list customVjp takes, and back. */
class Inputs {
  readonly list: Tensor[] = [];
  private readonly at = new Map<string, number>();
  add(name: string, t: Tensor | undefined): void {
    if (!t) return;
    this.at.set(name, this.list.length);
    this.list.push(t);
  }
  get(xs: readonly Tensor[], name: string): Tensor | undefined {
    const i = this.at.get(name);
    return i === undefined ? undefined : xs[i];
  }
  grads(named: Readonly<Record<string, Tensor | null | undefined>>): (Tensor | null)[] {
    const out = new Array<Tensor | null>(this.list.length).fill(null);
    for (const [k, i] of this.at) out[i] = named[k] ?? null;
    return out;
  }
}

const seqInputs = (a: SequenceArgs): Inputs => {
  const ins = new Inputs();
  for (const [k, t] of Object.entries({
    x: a.x,
    wih: a.weightIh,
    whh: a.weightHh,
    bih: a.biasIh,
    bhh: a.biasHh,
    h0: a.h0,
    c0: a.c0,
    mask: a.mask,
  }))
    ins.add(k, t);
  return ins;
};

/** [B, k] per step, in time order → [B, T·k] (stacked along axis 1). */
const stackSteps = (xs: readonly Tensor[]): Tensor => concat(xs, 1);
/** [B, T·k] → T tensors [B, k]. */
const unstackSteps = (x: Tensor, t: number): Tensor[] => (t === 1 ? [x] : split(x, t, 1));
const plus = (a: Tensor | undefined, b: Tensor | undefined): Tensor | undefined => (a && b ? add(a, b) : (a ?? b));
// With a mask m (1 real, 0 padding), state' = state + m·(new − state): the new values get m·d(state'), the old
// state keeps (1 − m)·d(state').
const maskGate = (m: Tensor | undefined, g: Tensor | undefined): Tensor | undefined => (g && m ? mul(g, m) : g);
const keepGate = (m: Tensor | undefined, g: Tensor | undefined): Tensor | undefined =>
  g && m ? mul(g, sub(1, m)) : undefined;

/** x [B, T, I] · Wᵀ + b → per-step [B, G·H] (one Gemm for all steps). */
function projectInput(x: Tensor, w: Tensor, b: Tensor | undefined, t: number): Tensor[] {
  const [gh, inF] = w.shape as number[];
  const xp = gemm(reshape(x, [-1, inF]), w, { transB: true, c: b }); // [B·T, G·H]
  return unstackSteps(reshape(xp, [x.shape[0], t * gh]), t);
}

/**
 * Weight gradients from the gate gradients of all steps dZ [B, T·G·H] (rows scaled by `rowScale` [G·H, 1] when
 * given): dW_ih = dZᵀ·x and dW_hh = dZᵀ·h_prev, one Gemm each over all steps; the bias gradient is one ReduceSum;
 * the input gradient dZ·wDx. (One Gemm against [x | h_prev] was slower: its odd width suits MLAS less.)
 */
function weightGrads(dZ: Tensor, x: Tensor, hPrev: Tensor, wDx: Tensor, rowScale?: Tensor) {
  const [gh, inF] = wDx.shape as number[];
  const hdim = (hPrev.shape[1] as number) / (x.shape[1] as number);
  const dz = reshape(dZ, [-1, gh]); // [B·T, G·H]
  const scaled = (v: Tensor) => (rowScale ? mul(v, rowScale) : v);
  const db = sum(dz, [0]); // [G·H]
  return {
    dwih: scaled(gemm(dz, reshape(x, [-1, inF]), { transA: true })), // [G·H, I]
    dwhh: scaled(gemm(dz, reshape(hPrev, [-1, hdim]), { transA: true })), // [G·H, H]
    db: rowScale ? mul(db, reshape(rowScale, [gh])) : db,
    dx: reshape(gemm(dz, wDx), x.shape), // [B, T, I]
  };
}

/** A constant [4H, 1] column: `v` on the g-gate rows, 1 elsewhere. */
const gRows = (dtype: Tensor['dtype'], hdim: number, v: number): Tensor =>
  constant(ndarray(dtype, [4 * hdim, 1], new Array<number>(4 * hdim).fill(1).fill(v, 2 * hdim, 3 * hdim)));

/**
 * LSTM over a sequence (PyTorch gate order i, f, g, o). Forward: one Gemm for the input projection of all steps,
 * then per step one Gemm with the recurrent weights and one Sigmoid for all gates (tanh(x) = 2σ(2x) − 1, the 2 is
 * folded into the g rows of the weights).
 */
export function lstmSequence(a: SequenceArgs): SequenceResult {
  const t = a.x.shape[1] as number;
  const hdim = a.weightHh.shape[1] as number;
  const order = Array.from({ length: t }, (_, i) => (a.reverse ? t - 1 - i : i));
  const ins = seqInputs(a);
  const hasC0 = a.c0 !== undefined;
  const hasH0 = a.h0 !== undefined;

  const forward = (...xs: Tensor[]) => {
    const [x, wihRaw, whhRaw] = [ins.get(xs, 'x')!, ins.get(xs, 'wih')!, ins.get(xs, 'whh')!];
    const [bih, bhh, mask] = [ins.get(xs, 'bih'), ins.get(xs, 'bhh'), ins.get(xs, 'mask')];
    const two = gRows(x.dtype, hdim, 2);
    const whhT = transpose(mul(whhRaw, two)); // [H, 4H] once: the per-step Gemm runs faster without transB
    const b = plus(bih, bhh);
    const xs2 = projectInput(x, mul(wihRaw, two), b && mul(b, reshape(two, [4 * hdim])), t);
    const masks = mask && unstackSteps(mask, t); // [B, 1] each
    let h = ins.get(xs, 'h0');
    let c = ins.get(xs, 'c0');
    const outs = new Array<Tensor>(t);
    // Backward factors, computed per step while the step's values are in cache (passes over [B, T, 4H] tensors
    // after the loop cost more): the gate gradients are dZ = [dc, dc, dc, dh] ⊙ K ⊙ [1, 1, 4, 1] with
    // K = σ'(gates) ⊙ [g, c_prev, i, tanh(c)] (g = 2σ(2z) − 1 has derivative 4σ'(2z); the 4 is applied to the
    // weights instead, once), dc += dh ⊙ P with P = o ⊙ (1 − tanh²(c)), and dc_prev = dc ⊙ f.
    const Ks = new Array<Tensor>(t);
    const Ps = new Array<Tensor>(t);
    const Fs = new Array<Tensor>(t);
    const hPrev = new Array<Tensor | undefined>(t);
    for (const s of order) {
      hPrev[s] = h;
      const act = sigmoid(h ? gemm(h, whhT, { c: xs2[s] }) : xs2[s]); // [B, 4H]
      const [ig, fg, gg, og] = split(act, 4, 1);
      const g = sub(mul(gg, 2), 1);
      const cNew = c ? add(mul(fg, c), mul(ig, g)) : mul(ig, g);
      const tc = tanh(cNew);
      const hNew = mul(og, tc);
      Ks[s] = mul(sub(act, mul(act, act)), concat([g, c ?? zerosLike(g), ig, tc], 1));
      Ps[s] = sub(og, mul(hNew, tc));
      Fs[s] = fg;
      const m = masks?.[s];
      if (m) {
        c = c ? add(c, mul(m, sub(cNew, c))) : mul(m, cNew);
        h = h ? add(h, mul(m, sub(hNew, h))) : mul(m, hNew);
        outs[s] = mul(m, hNew);
      } else {
        [c, h] = [cNew, hNew];
        outs[s] = hNew;
      }
    }
    const y = reshape(stackSteps(outs), [a.x.shape[0], t, hdim]);
    const zeros = zerosLike(outs[0]);
    return { outputs: [y, h!, c!], residuals: [...Ks, ...Ps, ...Fs, stackSteps(hPrev.map((v) => v ?? zeros))] };
  };

  const rule = ([dy, dhT, dcT]: readonly (Tensor | null)[], res: readonly Tensor[], xs: readonly Tensor[]) => {
    const [x, wih, whhRaw, mask] = [ins.get(xs, 'x')!, ins.get(xs, 'wih')!, ins.get(xs, 'whh')!, ins.get(xs, 'mask')];
    const [Ks, Ps, Fs, hPrevAll] = [res.slice(0, t), res.slice(t, 2 * t), res.slice(2 * t, 3 * t), res[3 * t]];
    const four = gRows(x.dtype, hdim, 4);
    const whh = mul(whhRaw, four);
    const dys = dy ? unstackSteps(reshape(dy, [x.shape[0], t * hdim]), t) : undefined;
    const masks = mask && unstackSteps(mask, t);
    const dZ = new Array<Tensor>(t);
    let dH: Tensor | undefined = dhT ?? undefined; // d(loss)/d(h state after the step)
    let dC: Tensor | undefined = dcT ?? undefined;
    let dHdy: Tensor | undefined = plus(dH, dys?.[order[t - 1]]); // dH + dy of the step (fused into the Gemm's C)
    for (let k = t - 1; k >= 0; k--) {
      const s = order[k];
      const m = masks?.[s];
      const dh = maskGate(m, dHdy) ?? zerosLike(Ps[s]);
      const dcFromState = maskGate(m, dC);
      const hp = mul(dh, Ps[s]);
      const dc = dcFromState ? add(dcFromState, hp) : hp;
      dZ[s] = mul(concat([dc, dc, dc, dh], 1), Ks[s]);
      if (k === 0 && !hasH0 && !hasC0) break;
      const next = k > 0 ? dys?.[order[k - 1]] : undefined;
      if (m) {
        dH = plus(gemm(dZ[s], whh), keepGate(m, dH));
        dHdy = plus(dH, next);
        dC = plus(keepGate(m, dC), mul(dc, Fs[s]));
      } else {
        dHdy = gemm(dZ[s], whh, { c: next });
        dH = dHdy; // (only read as the h0 gradient after the last step)
        dC = mul(dc, Fs[s]);
      }
    }
    const w = weightGrads(stackSteps(dZ), x, hPrevAll, mul(wih, four), four);
    return ins.grads({
      x: w.dx,
      wih: w.dwih,
      whh: w.dwhh,
      bih: w.db,
      bhh: w.db,
      h0: hasH0 ? dH : null,
      c0: hasC0 ? dC : null,
    });
  };

  const [y, h, c] = customVjp('lstm', forward, rule)(...ins.list);
  return { y, h, c };
}

/**
 * GRU over a sequence (PyTorch gate order r, z, n): r, z = σ(x_rz + h·W_rzᵀ + b_rz), n = tanh(x_n + r ⊙ (h·W_nᵀ +
 * b_hn)), h' = n + z ⊙ (h − n). The backward carries E = dh ⊙ [K_r, K_z, K_n ⊙ r, K_n] per step: its first three
 * blocks are the gradient of h·W_hhᵀ + b_hh, blocks 1, 2 and 4 that of the input projection; the recurrent Gemm
 * runs against [W_hh; 0] so E needs no slicing, and the weight gradients are sliced from one [4H, ·] Gemm each.
 */
export function gruSequence(a: SequenceArgs): SequenceResult {
  const t = a.x.shape[1] as number;
  const hdim = a.weightHh.shape[1] as number;
  const order = Array.from({ length: t }, (_, i) => (a.reverse ? t - 1 - i : i));
  const ins = seqInputs(a);
  const hasH0 = a.h0 !== undefined;

  const forward = (...xs: Tensor[]) => {
    const [x, wih, whh] = [ins.get(xs, 'x')!, ins.get(xs, 'wih')!, ins.get(xs, 'whh')!];
    const [bih, bhh, mask] = [ins.get(xs, 'bih'), ins.get(xs, 'bhh'), ins.get(xs, 'mask')];
    const xs3 = projectInput(x, wih, bih, t);
    const whhT = transpose(whh); // [H, 3H]
    const [bhRZ, bhN] = bhh ? split(bhh, [2 * hdim, hdim], 0) : [undefined, undefined];
    const masks = mask && unstackSteps(mask, t);
    let h = ins.get(xs, 'h0');
    const outs = new Array<Tensor>(t);
    // backward factors per step: E = dh ⊙ [K_r, K_z, K_n ⊙ r, K_n] with K_n = (1 − z)(1 − n²) (through n),
    // K_r = K_n ⊙ ghn ⊙ σ'(r), K_z = (h − n) ⊙ σ'(z); and dh_prev gets dh ⊙ z directly
    const Ks = new Array<Tensor>(t);
    const Zs = new Array<Tensor>(t);
    const hPrev = new Array<Tensor | undefined>(t);
    for (const s of order) {
      hPrev[s] = h;
      const [xrz, xn] = split(xs3[s], [2 * hdim, hdim], 1);
      const [ghrz, ghn] = h ? split(gemm(h, whhT, { c: bhh }), [2 * hdim, hdim], 1) : [bhRZ, bhN];
      const rz = sigmoid(ghrz ? add(xrz, ghrz) : xrz);
      const [r, z] = split(rz, 2, 1);
      const n = tanh(ghn ? add(xn, mul(r, ghn)) : xn);
      const hn = h ? sub(h, n) : neg(n);
      const hNew = add(n, mul(z, hn));
      const [dr, dz] = split(sub(rz, mul(rz, rz)), 2, 1); // σ'
      const kn = mul(sub(1, z), sub(1, mul(n, n)));
      const kr = ghn ? mul(kn, mul(ghn, dr)) : zerosLike(kn);
      Ks[s] = concat([kr, mul(hn, dz), mul(kn, r), kn], 1);
      Zs[s] = z;
      const m = masks?.[s];
      if (m) {
        h = h ? add(h, mul(m, sub(hNew, h))) : mul(m, hNew);
        outs[s] = mul(m, hNew);
      } else {
        h = hNew;
        outs[s] = hNew;
      }
    }
    const y = reshape(stackSteps(outs), [a.x.shape[0], t, hdim]);
    const zeros = zerosLike(outs[0]);
    return { outputs: [y, h!], residuals: [...Ks, ...Zs, stackSteps(hPrev.map((v) => v ?? zeros))] };
  };

  const rule = ([dy, dhT]: readonly (Tensor | null)[], res: readonly Tensor[], xs: readonly Tensor[]) => {
    const [x, wih, whh, mask] = [ins.get(xs, 'x')!, ins.get(xs, 'wih')!, ins.get(xs, 'whh')!, ins.get(xs, 'mask')];
    const [Ks, Zs, hPrevAll] = [res.slice(0, t), res.slice(t, 2 * t), res[2 * t]];
    const dys = dy ? unstackSteps(reshape(dy, [x.shape[0], t * hdim]), t) : undefined;
    const masks = mask && unstackSteps(mask, t);
    const wExt = concat([whh, constant(ndarray(whh.dtype, [hdim, hdim], new Array<number>(hdim * hdim).fill(0)))], 0); // [W_hh; 0]
    const E = new Array<Tensor>(t);
    let dH: Tensor | undefined = dhT ?? undefined;
    let dHdy: Tensor | undefined = plus(dH, dys?.[order[t - 1]]);
    for (let k = t - 1; k >= 0; k--) {
      const s = order[k];
      const m = masks?.[s];
      const dh = maskGate(m, dHdy) ?? zerosLike(Zs[s]);
      E[s] = mul(concat([dh, dh, dh, dh], 1), Ks[s]);
      if (k === 0 && !hasH0) break;
      const next = k > 0 ? dys?.[order[k - 1]] : undefined;
      dH = plus(gemm(E[s], wExt, { c: mul(dh, Zs[s]) }), keepGate(m, dH));
      dHdy = plus(dH, next);
    }
    // [4H, ·] gradients: rows r, z, n·r (of h·W_hhᵀ + b_hh) and n (of the input projection)
    const inF = wih.shape[1] as number;
    const [wRZ, wN] = split(wih, [2 * hdim, hdim], 0);
    const wihExt = concat(
      [wRZ, constant(ndarray(wih.dtype, [hdim, inF], new Array<number>(hdim * inF).fill(0))), wN],
      0,
    );
    const w = weightGrads(stackSteps(E), x, hPrevAll, wihExt);
    const pick = (v: Tensor, blocks: readonly number[]) => {
      const parts = split(v, [2 * hdim, hdim, hdim], 0);
      return concat(
        blocks.map((i) => parts[i]),
        0,
      );
    };
    return ins.grads({
      x: w.dx,
      wih: pick(w.dwih, [0, 2]),
      whh: pick(w.dwhh, [0, 1]),
      bih: pick(w.db, [0, 2]),
      bhh: pick(w.db, [0, 1]),
      h0: hasH0 ? dH : null,
    });
  };

  const [y, h] = customVjp('gru', forward, rule)(...ins.list);
  return { y, h };
}
