// N-D (any number of spatial dims, 3-D in practice) convolution and pooling with every ONNX attribute explicit, as
// imported models need them. Forward only: the 1-D and 2-D cases go through conv.ts and pool.ts, which have exact
// backward lowerings; differentiating an N-D window op throws rather than returning a wrong or zero gradient.
import { primitive } from '../primitive.js';
import { formatShape, type Dim } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** Kernel window of an N-D conv or pool: per spatial dim, plus pads as ONNX orders them (all begins, then all ends). */
export interface WindowNdAttrs {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly pads: readonly number[];
  readonly ceilMode: boolean;
}

function outSizes(op: string, x: Tensor, a: WindowNdAttrs): number[] {
  const d = a.kernel.length;
  if (x.rank !== d + 2)
    throw new Error(`${op}: a ${d}-D window needs a rank-${d + 2} input, got ${formatShape(x.shape)}`);
  return x.shape.slice(2).map((v, i) => {
    if (typeof v !== 'number') throw new Error(`${op}: spatial dims must be static, got ${formatShape(x.shape)}`);
    const span = v + a.pads[i] + a.pads[i + d] - (a.dilations[i] * (a.kernel[i] - 1) + 1);
    let out = (a.ceilMode ? Math.ceil(span / a.strides[i]) : Math.floor(span / a.strides[i])) + 1;
    if (a.ceilMode && (out - 1) * a.strides[i] >= v + a.pads[i]) out--;
    if (out <= 0) throw new Error(`${op}: kernel ${formatShape(a.kernel)} does not fit ${formatShape(x.shape)}`);
    return out;
  });
}

const noGradient = (op: string) => (): never => {
  throw new Error(
    `${op}: the gradient of an N-D (3-D) window op is not implemented; 1-D and 2-D ones are differentiable`,
  );
};

const convNdPrim = primitive<WindowNdAttrs & { group: number }>({
  name: 'convNd',
  infer: ([x, w], a) => {
    if (x.dtype !== w.dtype) throw new Error(`convNd: input dtype ${x.dtype} vs weight dtype ${w.dtype}`);
    const shape: Dim[] = [x.shape[0], w.shape[0], ...outSizes('convNd', x, a)];
    return [{ dtype: x.dtype, shape }];
  },
  lower: (ctx, n, ins) => {
    const a = n.attrs;
    return ctx.emit('Conv', ins, {
      kernel_shape: a.kernel,
      strides: a.strides,
      pads: a.pads,
      dilations: a.dilations,
      group: a.group,
    });
  },
  vjp: noGradient('convNd'),
});

/** N-D convolution (ONNX Conv with explicit attributes); `bias` optional. Not differentiable. */
export function convNdRaw(
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined,
  attrs: Omit<WindowNdAttrs, 'ceilMode'> & { readonly group: number },
): Tensor {
  return convNdPrim(bias ? [x, w, bias] : [x, w], { ...attrs, ceilMode: false })[0];
}

const poolNdPrim = primitive<WindowNdAttrs & { kind: 'max' | 'average'; countIncludePad: boolean }>({
  name: 'poolNd',
  infer: ([x], a) => [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...outSizes('poolNd', x, a)] }],
  lower: (ctx, n, [x]) => {
    const a = n.attrs;
    const common = {
      kernel_shape: a.kernel,
      strides: a.strides,
      pads: a.pads,
      dilations: a.dilations,
      ceil_mode: a.ceilMode ? 1 : 0,
    };
    return a.kind === 'max'
      ? ctx.emit('MaxPool', [x], common)
      : ctx.emit('AveragePool', [x], { ...common, count_include_pad: a.countIncludePad ? 1 : 0 });
  },
  vjp: noGradient('poolNd'),
});

/** N-D max or average pooling (ONNX MaxPool/AveragePool with explicit attributes). Not differentiable. */
export function poolNdRaw(
  x: Tensor,
  kind: 'max' | 'average',
  attrs: WindowNdAttrs & { readonly countIncludePad?: boolean },
): Tensor {
  return poolNdPrim([x], { ...attrs, kind, countIncludePad: attrs.countIncludePad ?? false })[0];
}
