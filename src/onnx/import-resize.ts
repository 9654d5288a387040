// ONNX Resize in `nearest` mode with sizes known at import time is a gather along each resized axis: this computes
// those index maps with ONNX's coordinate transformations and rounding modes, so the importer can lower the op into
// differentiable gathers (an imported U-Net's nn.Upsample fine-tunes) instead of running it forward only.

/** The Resize attributes and static sizes the index maps depend on. */
export interface NearestResize {
  /** Input sizes per axis (undefined where unknown at import time: only allowed on axes scaled by 1). */
  readonly input: readonly (number | undefined)[];
  /** Scales per axis (from the scales input), or undefined when sizes are given. */
  readonly scales?: readonly number[];
  /** Output sizes per axis (from the sizes input), or undefined when scales are given. */
  readonly sizes?: readonly number[];
  readonly coordinateMode: string;
  readonly nearestMode: string;
}

function original(mode: string, x: number, scale: number, inSize: number, outSize: number): number | undefined {
  switch (mode) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      const adjustment = outSize / (scale * inSize);
      const offset = (inSize / 2) * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel':
      return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outSize === 1 ? 0 : (x * (inSize - 1)) / (outSize - 1);
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
    default:
      return undefined; // tf_crop_and_resize (a region of interest) and unknown modes
  }
}

function round(mode: string, v: number): number | undefined {
  switch (mode) {
    case 'round_prefer_floor':
      return v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v);
    case 'round_prefer_ceil':
      return Math.round(v);
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    default:
      return undefined;
  }
}

/**
 * Per axis, the input index each output position reads (undefined entries for axes left as they are), or
 * undefined when the form is not covered (a region of interest, an unknown mode).
 */
export function nearestIndexMaps(r: NearestResize): (number[] | undefined)[] | undefined {
  const maps: (number[] | undefined)[] = [];
  for (let axis = 0; axis < r.input.length; axis++) {
    const inSize = r.input[axis];
    if (inSize === undefined) {
      if (r.sizes || r.scales?.[axis] !== 1) return undefined;
      maps.push(undefined);
      continue;
    }
    const outSize = r.sizes ? r.sizes[axis] : Math.floor(inSize * (r.scales?.[axis] ?? 1));
    const scale = r.sizes ? outSize / inSize : (r.scales?.[axis] ?? 1);
    if (!(outSize > 0) || !(scale > 0)) return undefined;
    if (outSize === inSize && scale === 1) {
      maps.push(undefined);
      continue;
    }
    const map: number[] = [];
    for (let x = 0; x < outSize; x++) {
      const o = original(r.coordinateMode, x, scale, inSize, outSize);
      const i = o === undefined ? undefined : round(r.nearestMode, o);
      if (i === undefined) return undefined;
      map.push(Math.min(Math.max(i, 0), inSize - 1));
    }
    maps.push(map);
  }
  return maps;
}
