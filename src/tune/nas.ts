// Architecture search spaces and latency-aware objectives. A space describes model configs (depth, width,
// kernel sizes, block types); `suggestArchitecture` samples one define-by-run (per-layer choices exist only for
// layers the sampled depth has), so every sampler — evolution, TPE, NSGA-II — can search it.
import type { Trial } from './trial.js';

/**
 * An architecture search space: the depth range, widths, and optional kernel sizes and block types, chosen per layer or
 * shared.
 */
export interface ArchitectureSpace {
  /** Number of blocks. */
  readonly depth: { readonly low: number; readonly high: number };
  /** Channel / hidden widths to choose from. */
  readonly widths: readonly number[];
  /** Kernel sizes (conv blocks); omit for MLPs. */
  readonly kernelSizes?: readonly number[];
  /** Block types (e.g. 'conv', 'residual', 'depthwise'). */
  readonly blockTypes?: readonly string[];
  /** One width/kernel/block per layer (default true); false shares one choice across layers. */
  readonly perLayer?: boolean;
}

/** One sampled layer: its width, and its kernel size and block type when the space has them. */
export interface LayerConfig {
  readonly width: number;
  readonly kernelSize?: number;
  readonly block?: string;
}

/** An architecture sampled by {@link suggestArchitecture}: the depth and one {@link LayerConfig} per layer. */
export interface ArchitectureConfig {
  readonly depth: number;
  readonly layers: readonly LayerConfig[];
}

/** Samples an architecture from the space through the trial (parameters `depth`, `layer{i}.width`, ...). */
export function suggestArchitecture(trial: Trial, space: ArchitectureSpace): ArchitectureConfig {
  const depth = trial.suggestInt('depth', space.depth.low, space.depth.high);
  const perLayer = space.perLayer ?? true;
  const layers: LayerConfig[] = [];
  for (let i = 0; i < depth; i++) {
    const p = perLayer ? `layer${i}.` : '';
    const width = trial.suggestCategorical(`${p}width`, space.widths);
    const kernelSize = space.kernelSizes ? trial.suggestCategorical(`${p}kernel_size`, space.kernelSizes) : undefined;
    const block = space.blockTypes ? trial.suggestCategorical(`${p}block`, space.blockTypes) : undefined;
    layers.push({
      width,
      ...(kernelSize !== undefined ? { kernelSize } : {}),
      ...(block !== undefined ? { block } : {}),
    });
  }
  return { depth, layers };
}

export interface LatencyAwareOptions<C> {
  /** Builds the candidate config from the trial (e.g. with suggestArchitecture). */
  readonly config: (trial: Trial) => C;
  /** Trains/evaluates the candidate and returns its quality metric (the study's first objective). */
  readonly evaluate: (config: C, trial: Trial) => Promise<number> | number;
  /** Measures the exported candidate's latency in ms (e.g. ONNX Runtime on the target); the second objective. */
  readonly measureLatency: (config: C) => Promise<number> | number;
}

/**
 * An objective returning [quality, latency ms] for a two-objective study (e.g. directions [maximize, minimize]);
 * the config and latency are stored as user attributes of the trial.
 */
export function latencyAwareObjective<C>(opts: LatencyAwareOptions<C>): (trial: Trial) => Promise<[number, number]> {
  return async (trial) => {
    const cfg = opts.config(trial);
    trial.setUserAttr('config', JSON.parse(JSON.stringify(cfg)));
    const latency = await opts.measureLatency(cfg);
    if (!(typeof latency === 'number' && latency >= 0))
      throw new Error(
        `measureLatency returned ${String(latency)} for trial ${trial.number}; expected milliseconds >= 0`,
      );
    trial.setUserAttr('latency_ms', latency);
    const quality = await opts.evaluate(cfg, trial);
    return [quality, latency];
  };
}
