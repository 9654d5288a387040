// The size grid of `npm run bench -- sweep`: for each training workload, one axis at a time through an anchor point
// (batch, width multiplier, and sequence length for the sequence models), not the full cross product, which would
// take hours on a shared 2-core machine. `--quick` keeps the ends of each axis and the anchor.

/** The training workloads of the sweep (the models of the single-size benches, scaled). */
export const SWEEP_WORKLOADS = ['mlp', 'cnn', 'resnet', 'gpt', 'lstm'] as const;
export type SweepWorkload = (typeof SWEEP_WORKLOADS)[number];

/** Which axis of the grid a point varies (the anchor point lies on all of its workload's axes). */
export type SweepAxis = 'batch' | 'width' | 'seq';

/** One size of one workload; `seq` is null for the image and tabular models. */
export interface SweepPoint {
  readonly workload: SweepWorkload;
  readonly batch: number;
  readonly width: number;
  readonly seq: number | null;
}

interface AxisSpec {
  readonly anchor: { readonly batch: number; readonly width: number; readonly seq: number | null };
  readonly batch: readonly number[];
  readonly width: readonly number[];
  readonly seq: readonly number[];
  /** The reduced grid of --quick. */
  readonly quick: readonly SweepPoint[];
}

const WIDTHS = [0.5, 1, 2, 4];
const p = (workload: SweepWorkload, batch: number, width: number, seq: number | null = null): SweepPoint => ({
  workload,
  batch,
  width,
  seq,
});

// batch 512 only where a step stays under a few seconds here (the MLP and the small CNN); ResNet, GPT and LSTM stop
// at 128 (at 512 one step of each is 10–60 s on two shared cores, and 4× width or 512 tokens on top would not fit the
// sweep's time bound).
const SPECS: Record<SweepWorkload, AxisSpec> = {
  mlp: {
    anchor: { batch: 128, width: 1, seq: null },
    batch: [1, 8, 32, 128, 512],
    width: WIDTHS,
    seq: [],
    quick: [p('mlp', 1, 1), p('mlp', 128, 1), p('mlp', 512, 1), p('mlp', 128, 4)],
  },
  cnn: {
    anchor: { batch: 32, width: 1, seq: null },
    batch: [1, 8, 32, 128, 512],
    width: WIDTHS,
    seq: [],
    quick: [p('cnn', 1, 1), p('cnn', 32, 1), p('cnn', 128, 1), p('cnn', 32, 4)],
  },
  resnet: {
    anchor: { batch: 8, width: 1, seq: null },
    batch: [1, 8, 32, 128],
    width: WIDTHS,
    seq: [],
    quick: [p('resnet', 1, 1), p('resnet', 8, 1), p('resnet', 8, 4)],
  },
  gpt: {
    anchor: { batch: 8, width: 1, seq: 64 },
    batch: [1, 8, 32, 128],
    width: WIDTHS,
    seq: [32, 64, 256, 512],
    quick: [p('gpt', 1, 1, 64), p('gpt', 8, 1, 64), p('gpt', 8, 1, 256), p('gpt', 8, 4, 64)],
  },
  lstm: {
    anchor: { batch: 8, width: 1, seq: 64 },
    batch: [1, 8, 32, 128],
    width: WIDTHS,
    seq: [32, 64, 256, 512],
    quick: [p('lstm', 1, 1, 64), p('lstm', 8, 1, 64), p('lstm', 8, 1, 256), p('lstm', 8, 4, 64)],
  },
};

/** The points of one workload: each axis swept through the anchor, the anchor once (or the --quick subset). */
export function sweepPoints(workload: SweepWorkload, quick: boolean): SweepPoint[] {
  const s = SPECS[workload];
  if (quick) return [...s.quick];
  const a = s.anchor;
  const pts = [
    ...s.batch.map((batch) => p(workload, batch, a.width, a.seq)),
    ...s.width.map((width) => p(workload, a.batch, width, a.seq)),
    ...s.seq.map((seq) => p(workload, a.batch, a.width, seq)),
  ];
  const seen = new Set<string>();
  return pts.filter((x) => {
    const k = pointKey(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The axes a point lies on, with its value relative to the anchor's on each (the chart's x). */
export function pointAxes(pt: SweepPoint): { axis: SweepAxis; relative: number }[] {
  const a = SPECS[pt.workload].anchor;
  const out: { axis: SweepAxis; relative: number }[] = [];
  const onSeq = pt.seq === a.seq;
  if (pt.width === a.width && onSeq) out.push({ axis: 'batch', relative: pt.batch / a.batch });
  if (pt.batch === a.batch && onSeq) out.push({ axis: 'width', relative: pt.width / a.width });
  if (pt.seq !== null && a.seq !== null && pt.batch === a.batch && pt.width === a.width)
    out.push({ axis: 'seq', relative: pt.seq / a.seq });
  return out;
}

/** `gpt b8 w1 s64`: a point's label in tables and logs. */
export const pointKey = (pt: SweepPoint): string =>
  `${pt.workload} b${pt.batch} w${pt.width}${pt.seq === null ? '' : ` s${pt.seq}`}`;

/** Scales a base width by the point's multiplier (at least 1). */
export const scaled = (base: number, width: number): number => Math.max(1, Math.round(base * width));
