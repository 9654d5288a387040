// Affine int8/uint8 quantization as ONNX's QuantizeLinear defines it: q = saturate(round_half_even(x / scale) + zp),
// x ≈ (q − zp)·scale. Activations are asymmetric (their range [min, max] always contains 0, so 0 is exact and a range
// starting at 0 puts zp at the type's minimum, which makes the quantizer itself a ReLU); weights are symmetric int8
// (zp = 0, what ORT's s8 kernels require for per-channel scales); biases int32 with scale = x_scale · w_scale.
// `reduceRange` quantizes weights to 7 bits ([-64, 63]): CPUs without VNNI multiply u8 × s8 pairs with a 16-bit
// saturating add (VPMADDUBSW), which overflows with full 8-bit weights; with VNNI it only costs precision.

/** The 8-bit integer type of a quantized tensor: signed `int8` or unsigned `uint8`. */
export type QuantType = 'int8' | 'uint8';

/** Affine quantization parameters of a tensor: real = scale × (q − zeroPoint), with q of `type`. */
export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
  readonly type: QuantType;
}

/** The integer range of `type`, 7-bit when `reduceRange`. */
export function quantRange(type: QuantType, reduceRange = false): readonly [number, number] {
  if (type === 'int8') return reduceRange ? [-64, 63] : [-128, 127];
  return reduceRange ? [0, 127] : [0, 255];
}

/** ONNX rounds half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Asymmetric parameters for a calibrated activation range (widened to contain 0). */
export function activationParams(min: number, max: number, type: QuantType): QuantParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
    throw new Error(`quantization range [${min}, ${max}] is not a finite interval`);
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const [qmin, qmax] = quantRange(type);
  if (hi === lo) return { scale: 1, zeroPoint: type === 'int8' ? 0 : 0, type };
  const scale = Math.fround((hi - lo) / (qmax - qmin)); // stored as float32: compute the zero point from that value
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - lo / scale)));
  return { scale, zeroPoint, type };
}

/** q for one value. */
export function quantizeValue(x: number, p: QuantParams, reduceRange = false): number {
  const [qmin, qmax] = quantRange(p.type, reduceRange);
  return Math.min(qmax, Math.max(qmin, roundHalfEven(x / p.scale) + p.zeroPoint));
}

/**
 * A weight quantized by {@link quantizeWeight}: int8 values (symmetric, zero point 0), the scales and the channel
 * axis of per-channel scales (undefined for per-tensor).
 */
export interface QuantizedWeight {
  /** int8 values in the weight's layout. */
  readonly data: Int8Array;
  /** One scale per channel along `axis` (per-channel), or one (per-tensor). */
  readonly scales: Float32Array;
  readonly axis: number | undefined;
}

/**
 * Symmetric int8 quantization of a float weight of shape `dims`: per-tensor (`axis` undefined) or one scale per index
 * along `axis`.
 */
export function quantizeWeight(
  w: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  reduceRange = false,
): QuantizedWeight {
  const [, qmax] = quantRange('int8', reduceRange);
  const channels = axis === undefined ? 1 : dims[axis];
  const inner = axis === undefined ? w.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number): number => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const absmax = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) absmax[channelOf(i)] = Math.max(absmax[channelOf(i)], Math.abs(w[i]));
  const scales = Float32Array.from(absmax, (m) => (m > 0 ? m / qmax : 1));
  const data = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++)
    data[i] = Math.max(-qmax - 1, Math.min(qmax, roundHalfEven(w[i] / scales[channelOf(i)])));
  return { data, scales, axis };
}

/** int32 bias with scale x_scale · w_scale[c] and zero point 0 (what QLinearConv and QGemm expect). */
export function quantizeBias(
  b: Float32Array,
  xScale: number,
  wScales: Float32Array,
): { data: Int32Array; scales: Float32Array } {
  const scales = Float32Array.from(b, (_, c) => Math.fround(xScale) * wScales[wScales.length === 1 ? 0 : c]);
  const data = Int32Array.from(b, (v, c) => Math.max(-2147483648, Math.min(2147483647, roundHalfEven(v / scales[c]))));
  return { data, scales };
}
