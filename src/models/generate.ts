// Text generation for the GPT decoder and the Mamba LM: temperature, top-k and top-p (nucleus) sampling, with or
// without a cache (GPT: keys/values; Mamba: each layer's recurrent conv and SSM state), from TypeScript, and export of
// the cached GPT decoder as ONNX with past/present key-value tensors.
import type { NDArray } from '../graph/ndarray.js';
import { ndarray } from '../graph/ndarray.js';
import { gather } from '../graph/ops/indexing.js';
import { scalar } from '../graph/ops/leaf.js';
import type { Tensor } from '../graph/tensor.js';
import { Generator } from '../nn/init.js';
import { withFrozenParameters } from '../nn/export.js';
import { exportOnnx } from '../onnx/export.js';
import { compile, type CompiledFn } from '../runtime/compile.js';
import type { InputSpec } from '../onnx/trace.js';
import type { SessionConfig } from '../runtime/device.js';
import { Mamba } from './mamba.js';
import type { GPT } from './transformer.js';

/** How one token is sampled from a row of logits: temperature, then top-k, then top-p (nucleus) filtering. */
export interface SampleOptions {
  /** 0 = greedy (argmax). Default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined = all). */
  readonly topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 or undefined = all). */
  readonly topP?: number;
}

/**
 * Options of text generation: the sampling options plus the number of new tokens to produce, the sampling seed and
 * whether to use the KV cache.
 */
export interface GenerateOptions extends SampleOptions {
  readonly maxNewTokens: number;
  readonly seed?: number;
  /** Use the key/value cache (default true): each new token costs one position instead of the whole prefix. */
  readonly cache?: boolean;
}

/** Samples one token id from a row of logits (host side). */
export function sampleLogits(logits: ArrayLike<number>, opts: SampleOptions, gen: Generator): number {
  const v = logits.length;
  const temp = opts.temperature ?? 1;
  if (temp <= 0) {
    let best = 0;
    for (let i = 1; i < v; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let idx = Array.from({ length: v }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  const k = opts.topK && opts.topK > 0 ? Math.min(opts.topK, v) : v;
  idx = idx.slice(0, k);
  const m = logits[idx[0]];
  let probs = idx.map((i) => Math.exp((logits[i] - m) / temp));
  let z = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / z);
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    let acc = 0;
    let cut = probs.length;
    for (let i = 0; i < probs.length; i++) {
      acc += probs[i];
      if (acc >= topP) {
        cut = i + 1;
        break;
      }
    }
    idx = idx.slice(0, cut);
    probs = probs.slice(0, cut);
    z = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / z);
  }
  let u = gen.uniform();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i];
    if (u < 0) return idx[i];
  }
  return idx[idx.length - 1];
}

type StepOut = Record<string, Tensor>;

/**
 * Decodes with a compiled GPT or Mamba LM (weights frozen at construction). Batch 1. The cache of a GPT holds keys and
 * values; that of a Mamba holds each layer's recurrent state (conv inputs and SSM state), so a Mamba has no context
 * limit with the cache (the prompt is fed in pieces of at most `context` tokens).
 */
export class TextGenerator {
  private readonly cached: CompiledFn<StepOut>;
  private readonly full: CompiledFn<StepOut>;
  private readonly layers: number;
  private readonly kvHeads: number;
  private readonly headDim: number;

  constructor(
    readonly model: GPT | Mamba,
    session: SessionConfig = {},
  ) {
    const c = model.cfg;
    this.layers = c.layers;
    if (model instanceof Mamba) {
      this.kvHeads = this.headDim = 0;
      // static shapes (one session per new-token count: the prompt piece, then 1), as ONNX Conv needs static lengths
      this.cached = compile((...xs: Tensor[]) => recurrentGraph(model, xs), session);
      this.full = compile(
        (ids: Tensor) => withFrozenParameters(model, () => ({ logits: lastRow(model.forward(ids)) })),
        session,
      );
      return;
    }
    const gc = model.cfg;
    this.kvHeads = gc.kvHeads ?? gc.heads;
    this.headDim = gc.dim / gc.heads;
    this.cached = compile((...xs: Tensor[]) => decoderGraph(model, xs), { ...session, inputs: decoderSpecs(model, 1) });
    // no cache: the whole prefix every step (one session for every length through the symbolic 'seq' dim)
    this.full = compile(
      (ids: Tensor, pos: Tensor) =>
        withFrozenParameters(model, () => {
          const r = model.decode(ids, pos, []);
          return { logits: lastRow(r.logits) };
        }),
      {
        ...session,
        inputs: [
          { dtype: 'int64', shape: [1, 'seq'] },
          { dtype: 'int64', shape: ['seq'] },
        ],
      },
    );
  }

  /** Generates `maxNewTokens` ids after `prompt` (ids only; decode them with your vocabulary). */
  async generate(prompt: readonly number[], opts: GenerateOptions): Promise<number[]> {
    if (prompt.length === 0) throw new Error('generate: the prompt needs at least one token');
    if (this.model instanceof Mamba) return this.generateRecurrent(this.model, prompt, opts);
    const ctx = this.model.cfg.context;
    if (prompt.length + opts.maxNewTokens > ctx)
      throw new Error(`generate: ${prompt.length} + ${opts.maxNewTokens} tokens exceed the context ${ctx}`);
    const gen = new Generator(opts.seed ?? 0);
    const out: number[] = [];
    if (opts.cache ?? true) {
      let past: NDArray[] = [];
      for (let l = 0; l < this.layers; l++) {
        const empty = ndarray('float32', [1, this.kvHeads, 0, this.headDim]);
        past.push(empty, empty);
      }
      // prefill: the whole prompt in one call (causal mask from the positions), then one token per call
      let ids = [...prompt];
      let pos = 0;
      for (;;) {
        const r = await this.cached(
          ndarray('int64', [1, ids.length], ids),
          ndarray(
            'int64',
            [ids.length],
            ids.map((_, i) => pos + i),
          ),
          ...past,
        );
        past = Array.from({ length: this.layers }, (_, l) => [r[`present.${l}.k`], r[`present.${l}.v`]]).flat();
        pos += ids.length;
        const next = sampleLogits(r.logits.data as Float32Array, opts, gen);
        out.push(next);
        if (out.length >= opts.maxNewTokens) break;
        ids = [next];
      }
      return out;
    }
    const seq = [...prompt];
    while (out.length < opts.maxNewTokens) {
      const r = await this.full(
        ndarray('int64', [1, seq.length], seq),
        ndarray(
          'int64',
          [seq.length],
          seq.map((_, i) => i),
        ),
      );
      const next = sampleLogits(r.logits.data as Float32Array, opts, gen);
      out.push(next);
      seq.push(next);
    }
    return out;
  }

  private async generateRecurrent(model: Mamba, prompt: readonly number[], opts: GenerateOptions): Promise<number[]> {
    const c = model.cfg;
    const gen = new Generator(opts.seed ?? 0);
    const out: number[] = [];
    if (!(opts.cache ?? true)) {
      if (prompt.length + opts.maxNewTokens > c.context)
        throw new Error(
          `generate: without the cache ${prompt.length} + ${opts.maxNewTokens} tokens exceed the context ${c.context}`,
        );
      const seq = [...prompt];
      while (out.length < opts.maxNewTokens) {
        const r = await this.full(ndarray('int64', [1, seq.length], seq));
        const next = sampleLogits(r.logits.data as Float32Array, opts, gen);
        out.push(next);
        seq.push(next);
      }
      return out;
    }
    const e = c.expand * c.dim;
    let states: NDArray[] = [];
    for (let l = 0; l < c.layers; l++)
      states.push(ndarray('float32', [1, e, c.convKernel - 1]), ndarray('float32', [1, e, c.state]));
    // prefill in pieces of at most `context` tokens, then one token per call
    const pieces: number[][] = [];
    for (let i = 0; i < prompt.length; i += c.context) pieces.push(prompt.slice(i, i + c.context));
    for (;;) {
      const ids = pieces.shift() ?? [out[out.length - 1]];
      const r = await this.cached(ndarray('int64', [1, ids.length], ids), ...states);
      states = Array.from({ length: c.layers }, (_, l) => [r[`state.${l}.conv`], r[`state.${l}.ssm`]]).flat();
      if (pieces.length > 0) continue;
      const next = sampleLogits(r.logits.data as Float32Array, opts, gen);
      out.push(next);
      if (out.length >= opts.maxNewTokens) return out;
    }
  }
}

/** Logits of the last position: [B, T, V] → [B, V]. */
function lastRow(logits: Tensor): Tensor {
  return gather(logits, scalar(-1, 'int64'), 1);
}

function recurrentGraph(model: Mamba, xs: readonly Tensor[]): StepOut {
  return withFrozenParameters(model, () => {
    const [ids, ...flat] = xs;
    const states = Array.from({ length: model.cfg.layers }, (_, l) => ({ conv: flat[2 * l], ssm: flat[2 * l + 1] }));
    const r = model.decode(ids, states);
    const out: StepOut = { logits: lastRow(r.logits) };
    r.states.forEach((s, l) => {
      out[`state.${l}.conv`] = s.conv;
      out[`state.${l}.ssm`] = s.ssm;
    });
    return out;
  });
}

function decoderSpecs(model: GPT, batch: number | string): InputSpec[] {
  const c = model.cfg;
  const kvh = c.kvHeads ?? c.heads;
  const hd = c.dim / c.heads;
  const specs: InputSpec[] = [
    { dtype: 'int64', shape: [batch, 'new'], name: 'input_ids' },
    { dtype: 'int64', shape: ['new'], name: 'positions' },
  ];
  for (let l = 0; l < c.layers; l++) {
    specs.push(
      { dtype: 'float32', shape: [batch, kvh, 'past', hd], name: `past.${l}.k` },
      { dtype: 'float32', shape: [batch, kvh, 'past', hd], name: `past.${l}.v` },
    );
  }
  return specs;
}

function decoderGraph(model: GPT, xs: readonly Tensor[]): StepOut {
  return withFrozenParameters(model, () => {
    const [ids, pos, ...flat] = xs;
    const past = Array.from({ length: model.cfg.layers }, (_, l) => ({ k: flat[2 * l], v: flat[2 * l + 1] }));
    const r = model.decode(ids, pos, past);
    const out: StepOut = { logits: lastRow(r.logits) };
    r.present.forEach((p, l) => {
      out[`present.${l}.k`] = p.k;
      out[`present.${l}.v`] = p.v;
    });
    return out;
  });
}

/**
 * Exports the GPT as an ONNX decoder with a key/value cache: inputs `input_ids` [batch, new], `positions` [new]
 * (absolute positions of the new tokens), `past.<l>.k|v` [batch, kvHeads, past, headDim] (past may be 0);
 * outputs `logits` [batch, vocab] of the last new token and `present.<l>.k|v` [batch, kvHeads, past+new, headDim].
 * The causal mask is computed from the positions, so a prompt can be fed in one call or token by token.
 */
export function exportDecoder(model: GPT, opts: { path?: string } = {}): Uint8Array {
  const specs = decoderSpecs(model, 'batch');
  return exportOnnx((...xs: Tensor[]) => decoderGraph(model, xs), specs, {
    inputNames: specs.map((s) => s.name!),
    path: opts.path,
  });
}
