// The sweep's documents: a Markdown table of the points and a PNG chart of the ratio against size (an SVG drawn here,
// rendered by sharp).
import sharp from 'sharp';
import { pointAxes, pointKey, SWEEP_WORKLOADS, type SweepAxis, type SweepPoint } from './_sweep-grid.js';

/** One measured point of the sweep, as printed with --json. */
export interface SweepRow extends SweepPoint {
  readonly samples_per_s: number | null;
  readonly peer_samples_per_s: number | null;
  readonly ratio: number | null;
  readonly peak_rss_mb: number | null;
  readonly peer_peak_rss_mb: number | null;
  /** Settings each side was fastest at, and why a side has no figure. */
  readonly lathe_config?: string;
  readonly peer_config?: string;
  readonly note?: string;
}

const fmt = (x: number | null, d = 0): string =>
  x === null || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d });

/** The sweep as a Markdown table, one row per point. */
export function sweepTable(rows: readonly SweepRow[]): string {
  const head =
    '| workload | batch | width | seq | lathe samples/s | PyTorch samples/s | ratio | lathe peak RSS MB | PyTorch peak RSS MB | fastest settings (lathe / PyTorch) |\n' +
    '|---|---|---|---|---|---|---|---|---|---|';
  const body = rows.map(
    (r) =>
      `| ${r.workload}-train | ${r.batch} | ${r.width}× | ${r.seq ?? '–'} | ${fmt(r.samples_per_s)} | ${fmt(r.peer_samples_per_s)} | ` +
      `${r.ratio === null ? '–' : `**${r.ratio.toFixed(2)}**`} | ${fmt(r.peak_rss_mb)} | ${fmt(r.peer_peak_rss_mb)} | ` +
      `${r.lathe_config ?? '–'} / ${r.peer_config ?? '–'}${r.note ? ` (${r.note})` : ''} |`,
  );
  return [head, ...body].join('\n');
}

const COLORS: Record<(typeof SWEEP_WORKLOADS)[number], string> = {
  mlp: '#1f77b4',
  cnn: '#ff7f0e',
  resnet: '#2ca02c',
  gpt: '#d62728',
  lstm: '#9467bd',
};
const DASH: Record<SweepAxis, string> = { batch: '', width: '6 4', seq: '2 3' };

/**
 * An SVG chart (title: one or two lines): ratio (log scale) against the point's size relative to its workload's anchor (log2 scale), one line
 * per workload and axis (solid: batch, dashed: width, dotted: sequence length), and the 1.0 line.
 */
export function sweepSvg(rows: readonly SweepRow[], title: string): string {
  const W = 900;
  const H = 520;
  const m = { l: 70, r: 190, t: 50, b: 60 };
  const pts = rows.filter((r) => r.ratio !== null && r.ratio > 0);
  const series = new Map<string, { workload: SweepRow['workload']; axis: SweepAxis; xy: [number, number][] }>();
  for (const r of pts)
    for (const { axis, relative } of pointAxes(r)) {
      const k = `${r.workload} ${axis}`;
      const s = series.get(k) ?? { workload: r.workload, axis, xy: [] };
      s.xy.push([Math.log2(relative), Math.log2(r.ratio!)]);
      series.set(k, s);
    }
  const xs = [...series.values()].flatMap((s) => s.xy.map((p) => p[0]));
  const ys = [...series.values()].flatMap((s) => s.xy.map((p) => p[1]));
  const x0 = Math.min(-1, ...xs);
  const x1 = Math.max(1, ...xs);
  const y0 = Math.floor(Math.min(-1, ...ys));
  const y1 = Math.ceil(Math.max(1, ...ys));
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...title
      .split('\n')
      .map((line, i) => `<text x="${m.l}" y="${20 + 17 * i}" font-size="${i ? 12 : 15}">${escapeXml(line)}</text>`),
  ];
  for (let y = y0; y <= y1; y++)
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${Y(y)}" y2="${Y(y)}" stroke="${y === 0 ? '#000' : '#ddd'}" stroke-width="${y === 0 ? 1.5 : 1}"/>`,
      `<text x="${m.l - 8}" y="${Y(y) + 4}" text-anchor="end">${fmtRatio(2 ** y)}×</text>`,
    );
  for (let x = Math.ceil(x0); x <= Math.floor(x1); x++)
    out.push(
      `<line x1="${X(x)}" x2="${X(x)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`,
      `<text x="${X(x)}" y="${H - m.b + 18}" text-anchor="middle">${fmtRatio(2 ** x)}</text>`,
    );
  out.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 15}" text-anchor="middle">size relative to the workload's anchor point (batch, width or sequence length)</text>`,
    `<text transform="translate(18 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">lathe / PyTorch samples per second</text>`,
  );
  let ly = m.t;
  for (const [k, s] of series) {
    const sorted = [...s.xy].sort((a, b) => a[0] - b[0]);
    const d = sorted.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    const dash = DASH[s.axis] ? ` stroke-dasharray="${DASH[s.axis]}"` : '';
    out.push(`<path d="${d}" fill="none" stroke="${COLORS[s.workload]}" stroke-width="2"${dash}/>`);
    for (const p of sorted)
      out.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3.5" fill="${COLORS[s.workload]}"/>`);
    out.push(
      `<line x1="${W - m.r + 15}" x2="${W - m.r + 45}" y1="${ly}" y2="${ly}" stroke="${COLORS[s.workload]}" stroke-width="2"${dash}/>`,
      `<text x="${W - m.r + 52}" y="${ly + 4}">${escapeXml(k)}</text>`,
    );
    ly += 20;
  }
  out.push('</svg>');
  return out.join('\n');
}

/** The chart as PNG bytes. */
export function sweepPng(rows: readonly SweepRow[], title: string): Promise<Buffer> {
  return sharp(Buffer.from(sweepSvg(rows, title)))
    .png()
    .toBuffer();
}

const fmtRatio = (x: number): string => (x >= 1 ? String(x) : `1/${1 / x}`);
const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Rows in grid order: by workload, then the point's key. */
export const byWorkload = (rows: readonly SweepRow[]): SweepRow[] =>
  [...rows].sort(
    (a, b) =>
      SWEEP_WORKLOADS.indexOf(a.workload) - SWEEP_WORKLOADS.indexOf(b.workload) ||
      pointKey(a).localeCompare(pointKey(b), 'en', { numeric: true }),
  );
