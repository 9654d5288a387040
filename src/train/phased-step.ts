// Alternating training (GANs): several compiled steps (train/train-step.ts), one per phase, over one shared set of
// parameters and buffers. Each phase updates its own parameters with its own optimizer (the others are frozen in its
// graph); a cycle runs each phase's `steps` batches in order. After a phase runs, the parameters it updated and the
// buffers are copied into the other phases' state, so every phase sees the current weights.
//
// Which phase runs a batch is a pure function of the global step, and each phase's in-graph randomness is keyed by
// (seed mixed with the phase index, that phase's own step count), so a resumed run is bit-identical. The checkpoint
// holds the shared parameters and buffers once under their usual keys and each phase's optimizer state under
// `<phase>/<key>`.
import type { NDArray } from '../graph/ndarray.js';
import { stateKey } from './state-keys.js';
import type { StepResult, TrainStep } from './train-step.js';

/** One compiled phase: its name, its step, the parameters it updates, and its batches per cycle. */
export interface CompiledPhase {
  readonly name: string;
  readonly step: TrainStep;
  readonly trained: readonly string[];
  readonly steps: number;
  /** The phase's learning rate at its own update count. */
  readonly lr: (updates: number) => number;
}

/** The result of one phased step: the step's result and the phase that ran. */
export interface PhasedResult extends StepResult {
  readonly phase: string;
}

/**
 * Alternating training (GANs): runs several compiled steps, one per phase, over one shared set of parameters and
 * buffers, choosing the phase from the global step so that a resumed run is bit-identical; throws if `phases` is empty.
 */
export class PhasedStep {
  private t = 0;
  private readonly cycle: number;

  constructor(
    private readonly phases: readonly CompiledPhase[],
    private readonly bufferNames: readonly string[],
  ) {
    if (!phases.length) throw new Error('PhasedStep: no phases');
    this.cycle = phases.reduce((n, p) => n + p.steps, 0);
  }

  /** Batches (= optimizer updates of some phase) run so far. */
  get stepCount(): number {
    return this.t;
  }

  get microStepCount(): number {
    return this.t;
  }

  /** The phase that runs global step `t` (0-based) and how many updates it had before it. */
  private locate(t: number): { index: number; updates: number } {
    const full = Math.floor(t / this.cycle);
    let r = t % this.cycle;
    for (let i = 0; i < this.phases.length; i++) {
      const p = this.phases[i];
      if (r < p.steps) return { index: i, updates: full * p.steps + r };
      r -= p.steps;
    }
    throw new Error('unreachable');
  }

  /** The learning rate the next step's phase uses. */
  nextLr(): number {
    const { index, updates } = this.locate(this.t);
    return this.phases[index].lr(updates);
  }

  /** Runs the next phase on `batch`, then shares its updated parameters and the buffers with the other phases. */
  async run(batch: Readonly<Record<string, NDArray>>): Promise<PhasedResult> {
    const { index, updates } = this.locate(this.t);
    const p = this.phases[index];
    const r = await p.step.run(batch, p.lr(updates));
    const params = p.step.params();
    const buffers = p.step.buffers();
    const part: Record<string, NDArray> = {};
    for (const n of p.trained) part[stateKey.param(n)] = params[n];
    for (const n of this.bufferNames) part[stateKey.buffer(n)] = buffers[n];
    for (const q of this.phases) if (q !== p) q.step.assign(part);
    this.t++;
    return { ...r, phase: p.name };
  }

  /** The current parameters (every phase holds the same values). */
  params(): Record<string, NDArray> {
    return this.phases[0].step.params();
  }

  /** The current buffers (every phase holds the same values), by name. */
  buffers(): Record<string, NDArray> {
    return this.phases[0].step.buffers();
  }

  /** Not supported with phases: always throws (no EMA of the weights is kept in phased training). */
  emaParams(): Record<string, NDArray> {
    throw new Error('PhasedStep: EMA is not available with phases');
  }

  /** Shared parameters and buffers under their keys, each phase's other state under `<phase>/<key>`. */
  state(): Record<string, NDArray> {
    const out: Record<string, NDArray> = {};
    for (const p of this.phases) {
      for (const [k, v] of Object.entries(p.step.state())) {
        const shared = isShared(k);
        if (!shared) out[`${p.name}/${k}`] = v;
        else if (!(k in out)) out[k] = v;
      }
    }
    return out;
  }

  /** Restores `state()` and the global step; each phase's counters follow from it. */
  load(state: Readonly<Record<string, NDArray>>, counters: { readonly step: number }): void {
    this.t = counters.step;
    const before = (i: number) => {
      const p = this.phases[i];
      return (
        Math.floor(this.t / this.cycle) * p.steps +
        Math.min(p.steps, Math.max(0, (this.t % this.cycle) - this.phases.slice(0, i).reduce((n, q) => n + q.steps, 0)))
      );
    };
    this.phases.forEach((p, i) => {
      const own: Record<string, NDArray> = {};
      for (const k of Object.keys(p.step.state())) {
        const shared = isShared(k);
        const v = state[shared ? k : `${p.name}/${k}`];
        if (!v) throw new Error(`checkpoint lacks ${shared ? k : `${p.name}/${k}`} (phase ${p.name})`);
        own[k] = v;
      }
      const n = before(i);
      p.step.load(own, { step: n, micro: n });
    });
  }

  /** Releases every phase's ONNX Runtime session; the step cannot run afterwards. */
  async release(): Promise<void> {
    for (const p of this.phases) await p.step.release();
  }
}

/** Parameters and buffers are shared by the phases; everything else (optimizer slots, …) is per phase. */
const isShared = (k: string): boolean => k.startsWith(stateKey.param('')) || k.startsWith(stateKey.buffer(''));
