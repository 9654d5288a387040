import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';

/**
 * Where a graph runs. 'cpu' is ORT's MLAS CPU provider (always available). 'cuda' asks for ORT's CUDA provider
 * (install its libraries with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`) and falls back to
 * the CPU when it cannot start.
 */
export type Device = 'cpu' | 'cuda';

/**
 * How an ONNX Runtime session is created (device, threads, graph optimization, logging, profiling); every field
 * is optional with the defaults below.
 */
export interface SessionConfig {
  /** Where the graph runs (default `'cpu'`); `'cuda'` falls back to the CPU when its provider cannot start. */
  readonly device?: Device;
  /** Intra-op threads; default: the number of cores. */
  readonly threads?: number;
  /** ORT graph optimizations; 'all' (default) enables layout transforms such as NCHWc convolutions. */
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Let idle intra-op threads spin-wait for the next kernel (ORT's default; default here: true, or LATHE_SPINNING=0).
   * Spinning saves a wake-up per parallel kernel on an idle machine (~10 %), but on cores shared with other jobs a
   * spinning pool competes with them and every parallel kernel waits for its slowest thread: a 2-thread GPT step
   * took 250–300 ms spinning vs 110–175 ms not, with the load average at 5–9 on 2 cores (PyTorch's analogue is
   * OMP_WAIT_POLICY=PASSIVE).
   */
  readonly spinning?: boolean;
  /**
   * Let ORT plan one block for all of a run's intermediate tensors from the first run's sizes (its memory pattern;
   * default true, or LATHE_MEMORY_PATTERN=0 for false). Off, each tensor is allocated from the arena as it is needed: in the training sweep
   * (docs/performance.md) peak RSS fell 16–28 % (a GPT step over 256 tokens 320 → 231 MB, the CNN at batch 128
   * 220 → 179 MB) for steps 5–15 % slower.
   */
  readonly memoryPattern?: boolean;
  /**
   * Serve tensors from ORT's CPU arena (default true, or LATHE_MEMORY_ARENA=0 for false). The arena keeps every block
   * it has grown for reuse and grows in powers of two; off, tensors come from and go back to the system allocator.
   */
  readonly memoryArena?: boolean;
  /** ORT's own log threshold on stderr: 0 verbose … 3 error (default, or LATHE_ORT_LOG_LEVEL), 4 fatal only. */
  readonly logSeverity?: 0 | 1 | 2 | 3 | 4;
  /** Write a Chrome-trace profile with one event per kernel (see runtime/profile.ts). */
  readonly profile?: boolean;
  /** File name prefix of the profile ORT writes when `profile` is on (ORT's default: `onnxruntime_profile_`). */
  readonly profilePrefix?: string;
  /** Write the graph ORT runs after its optimizations (fusions, layouts) to this file (e.g. to see int8 kernels). */
  readonly optimizedModelPath?: string;
}

/**
 * ONNX Runtime session options for a {@link SessionConfig}: execution providers for the device, intra-op threads
 * (default the core count, or LATHE_THREADS), sequential execution, memory pattern, optimization level, log level,
 * profiling and thread spinning (LATHE_SPINNING=0 turns it off).
 */
export function sessionOptions(cfg: SessionConfig = {}): InferenceSession.SessionOptions {
  const threads = cfg.threads ?? Number(process.env.LATHE_THREADS ?? availableParallelism());
  const spin = cfg.spinning ?? process.env.LATHE_SPINNING !== '0';
  return {
    executionProviders: cfg.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableMemPattern: cfg.memoryPattern ?? process.env.LATHE_MEMORY_PATTERN !== '0',
    enableCpuMemArena: cfg.memoryArena ?? process.env.LATHE_MEMORY_ARENA !== '0',
    graphOptimizationLevel: cfg.optimization ?? 'all',
    enableProfiling: cfg.profile ?? false,
    // ORT warns about every constant it cannot fold (e.g. float64 ConvTranspose); errors still surface as exceptions
    logSeverityLevel: cfg.logSeverity ?? (Number(process.env.LATHE_ORT_LOG_LEVEL ?? 3) as 0 | 1 | 2 | 3 | 4),
    profileFilePrefix: cfg.profilePrefix,
    ...(cfg.optimizedModelPath ? { optimizedModelFilePath: cfg.optimizedModelPath } : {}),
    ...(spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}
