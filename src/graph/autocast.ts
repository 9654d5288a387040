// Autocast: inside `withAutocast('float16', fn)`, matmul / gemm / conv run on float16 copies of their float32
// inputs and return float32 (the cast's VJP casts gradients back, so master weights stay float32). On the CUDA
// execution provider these are native fp16 kernels; ORT's CPU provider has none and wraps fp32 kernels in
// casts, so on a CPU this only rounds values (use it there to test graphs, not for speed).
import type { DType } from './dtype.js';

let current: 'float16' | 'bfloat16' | undefined;

/**
 * Runs `fn` with autocast set to `dtype` (undefined turns it off) and restores the previous setting afterwards, even if
 * `fn` throws; float32 matmul/gemm/conv traced inside compute in `dtype` and return float32.
 */
export function withAutocast<R>(dtype: 'float16' | 'bfloat16' | undefined, fn: () => R): R {
  const prev = current;
  current = dtype;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** The reduced dtype to compute a float32 matmul/conv in, or undefined outside autocast. */
export function autocastTarget(input: DType): 'float16' | 'bfloat16' | undefined {
  return input === 'float32' ? current : undefined;
}
