// `lathe compress` configs (YAML or JSON), validated with zod; an error names the file and the path of the bad field.
// Every field has its default here, so a config file only says what differs; CLI flags override the file.
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CompressError } from './errors.js';

/**
 * Zod schema of a compression config (`lathe compress --config`): quantization mode and calibration, pruning,
 * data and report settings, with their defaults. Unknown keys are rejected; use {@link parseCompressConfig} for
 * errors that name the field.
 */
export const compressConfigSchema = z
  .object({
    quantize: z
      .object({
        /**
         * 'static': int8 weights and activations, activation ranges calibrated on sample data (convolutional nets).
         * 'dynamic': int8 MatMul/Gemm weights, activations quantized per batch in the graph (transformers, LSTMs).
         * 'qat': static int8 after quantization-aware fine-tuning (fake quantization in the training graph) on the
         *   training split, starting from the calibrated ranges.
         * 'none': no quantization (pruning only; the default when a config has a `prune` section and no mode).
         */
        mode: z.enum(['static', 'dynamic', 'qat', 'none']).default('static'),
        calibration: z
          .object({
            method: z.enum(['minmax', 'percentile', 'entropy']).default('minmax'),
            /** For 'percentile': the percentile of the values kept (the rest clipped). */
            percentile: z.number().gt(50).max(100).default(99.999),
            /** Training samples the ranges are calibrated on (a seeded random sample of the training split). */
            samples: z.number().int().min(0).default(512),
            batchSize: z.number().int().positive().default(64),
            seed: z.number().int().default(0),
          })
          .strict()
          .prefault({}),
        /** Weights: one scale per output channel (true) or per tensor. */
        perChannel: z.boolean().default(true),
        /** Activations as uint8 (ORT's u8·s8 kernels, the default) or int8. */
        activationType: z.enum(['uint8', 'int8']).default('uint8'),
        /**
         * 7-bit weights: on x86-64 CPUs without VNNI, u8·s8 products are summed in 16 bits and full-range weights can
         * saturate. `auto` (the default) turns it on when the quantizing CPU lacks VNNI (cpu-features.ts).
         */
        reduceRange: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        exclude: z
          .object({
            /** Node names kept in float (`lathe compress --report` lists them). */
            nodes: z.array(z.string()).default([]),
            /** Op types kept in float, e.g. [Add]. */
            opTypes: z.array(z.string()).default([]),
          })
          .strict()
          .prefault({}),
        /** Quantization-aware training (mode: qat): the fine-tuning run and the fake quantizers. */
        qat: z
          .object({
            epochs: z.number().int().positive().default(1),
            /** Adam's learning rate (fine-tuning a trained model: small). */
            lr: z.number().positive().default(1e-4),
            batchSize: z.number().int().positive().default(64),
            /** Training samples fine-tuned on (default: the whole training split). */
            samples: z.number().int().positive().optional(),
            /** fixed: calibrated ranges refined by observers, then frozen; learned: LSQ scales trained with the weights. */
            scales: z.enum(['fixed', 'learned']).default('fixed'),
            /** fixed: steps during which EMA observers update the ranges before they freeze. */
            observerWarmupSteps: z.number().int().min(0).default(100),
            observerMomentum: z.number().gt(0).max(1).default(0.01),
            seed: z.number().int().default(0),
          })
          .strict()
          .prefault({}),
        /** Score every layer quantized alone on the held-out set (one evaluation per layer). */
        sensitivity: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Unstructured magnitude pruning before any quantization (src/compress/prune.ts). */
    prune: z
      .object({
        /** magnitude: zero single weights (unstructured); channel: remove whole conv filters and their dependents. */
        method: z.enum(['magnitude', 'channel']).default('magnitude'),
        /** magnitude: fraction of the Conv/Gemm/MatMul weights set to zero; channel: fraction of each group's channels removed. */
        sparsity: z.number().min(0).lt(1),
        /** 'global': one threshold over all prunable weights; 'layerwise': this sparsity in every layer. */
        scope: z.enum(['global', 'layerwise']).default('global'),
        /** Node names whose weights are not pruned. */
        excludeNodes: z.array(z.string()).default([]),
        /** channel: the channels each group keeps are rounded to a multiple of this (8: ORT's AVX2 conv blocks). */
        channelMultiple: z.number().int().positive().default(8),
        /** channel: fine-tune the pruned (smaller, dense) model on the training split before anything else. */
        fineTune: z
          .object({
            epochs: z.number().int().positive().default(1),
            /** Adam's learning rate. */
            lr: z.number().positive().default(1e-3),
            batchSize: z.number().int().positive().default(64),
            /** Training samples fine-tuned on (default: the whole training split). */
            samples: z.number().int().positive().optional(),
            seed: z.number().int().default(0),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    data: z
      .object({
        /** A data set of the catalog (`fashion-mnist`, ...); a run's own data set when compressing a run. */
        name: z.string().min(1).optional(),
        root: z.string().optional(),
        /** Held-out samples scored before and after (default: the whole test split). */
        evalSamples: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    report: z
      .object({
        /** Batch sizes whose latency is measured before and after. */
        latencyBatches: z.array(z.number().int().positive()).default([1, 64]),
        /** ORT intra-op threads for the latency figures (default: the cores). */
        threads: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** A validated compression config, defaults filled in (the output of {@link compressConfigSchema}). */
export type CompressConfig = z.infer<typeof compressConfigSchema>;

/** Validates a parsed config; `source` names the file in errors. */
export function parseCompressConfig(raw: unknown, source = 'compress config'): CompressConfig {
  // a config that prunes and names no quantization mode only prunes
  const o = (raw ?? {}) as { prune?: unknown; quantize?: { mode?: unknown } };
  const pruneOnly =
    typeof o === 'object' &&
    o.prune !== undefined &&
    (typeof o.quantize !== 'object' || o.quantize === null || o.quantize.mode === undefined);
  const r = compressConfigSchema.safeParse(
    pruneOnly ? { ...o, quantize: { ...(o.quantize ?? {}), mode: 'none' } } : (raw ?? {}),
  );
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CompressError(`${source}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  }
  return r.data;
}

/** Reads a YAML or JSON config file. */
export function loadCompressConfig(path: string): CompressConfig {
  if (!existsSync(path)) throw new CompressError(`${path}: no such config file`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CompressError(`${path}: not valid YAML/JSON: ${(err as Error).message}`);
  }
  return parseCompressConfig(raw, path);
}
