// The compression report as Markdown (the JSON form is the CompressReport object itself).
import type { CompressReport } from './compress.js';

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
const kb = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

/**
 * The compression report as Markdown: what was done, size, accuracy, latency, kernels and the per-layer table
 * (with the sensitivity analysis when it ran).
 */
export function reportMarkdown(r: CompressReport): string {
  const q = r.quantize;
  const lines = [
    `# Compression report: ${r.source}`,
    '',
    q.mode === 'static' || q.mode === 'qat'
      ? `${q.mode === 'qat' ? `Quantization-aware training (${q.qat.epochs} epoch(s), lr ${q.qat.lr}, ${q.qat.scales} scales) after static int8 quantization` : 'Static int8 quantization'}: ${q.calibration.method} calibration on ${r.calibrationSamples} training samples` +
        `${q.calibration.method === 'percentile' ? ` (percentile ${q.calibration.percentile})` : ''}, weights ${q.perChannel ? 'per channel' : 'per tensor'}` +
        `${q.reduceRange ? ' (7-bit, reduce-range)' : ''}, activations ${q.activationType}.`
      : q.mode === 'none'
        ? 'No quantization.'
        : `Dynamic int8 quantization: MatMul/Gemm weights int8 ${q.perChannel ? 'per output column' : 'per tensor'}${q.reduceRange ? ' (7-bit, reduce-range)' : ''}, activations uint8 per batch in the graph.`,
    '',
    '| | before | after | |',
    '|---|---|---|---|',
    `| size | ${kb(r.size.beforeBytes)} | ${kb(r.size.afterBytes)} | ${r.size.ratio.toFixed(2)}× smaller |`,
  ];
  if (r.size.beforeGzipBytes !== undefined)
    lines.push(
      `| size, gzip-compressed | ${kb(r.size.beforeGzipBytes)} | ${kb(r.size.afterGzipBytes!)} | ${(r.size.beforeGzipBytes / r.size.afterGzipBytes!).toFixed(2)}× smaller |`,
    );
  if (r.accuracy)
    lines.push(
      `| accuracy (${r.accuracy.set}, ${r.accuracy.samples} samples) | ${pct(r.accuracy.before)} | ${pct(r.accuracy.after)} | ${r.accuracy.dropPoints >= 0 ? '−' : '+'}${Math.abs(r.accuracy.dropPoints).toFixed(2)} points |`,
    );
  if (r.accuracy?.ptq !== undefined)
    lines.push(
      `| accuracy of static PTQ without fine-tuning | ${pct(r.accuracy.before)} | ${pct(r.accuracy.ptq)} | ${r.accuracy.ptqDropPoints! >= 0 ? '−' : '+'}${Math.abs(r.accuracy.ptqDropPoints!).toFixed(2)} points |`,
    );
  for (const l of r.latency)
    lines.push(
      `| latency, batch ${l.batch} | ${l.beforeMs.toFixed(3)} ms | ${l.afterMs.toFixed(3)} ms | ${l.speedup.toFixed(2)}× faster |`,
    );
  if (r.prune?.channelGroups) {
    lines.splice(
      3,
      0,
      '',
      `Channel pruning: ${r.prune.channelGroups.length} conv group(s) lost ${pct(r.prune.channelGroups.reduce((a, g) => a + g.removed.length, 0) / r.prune.channelGroups.reduce((a, g) => a + g.channels, 0))} of their channels (target ${pct(r.prune.sparsity)}, kept counts rounded to multiples of ${r.prune.channelMultiple}); the Conv/Gemm weights went from ${r.prune.params} to ${Math.round(r.prune.params * (1 - r.prune.sparsityReached))} (−${pct(r.prune.sparsityReached)}). The model is smaller and dense.`,
    );
  } else if (r.prune) {
    lines.splice(
      3,
      0,
      '',
      `Magnitude pruning (${r.prune.scope}): ${pct(r.prune.sparsityReached)} of the ${r.prune.params} Conv/Gemm/MatMul weights are zero (target ${pct(r.prune.sparsity)}).` +
        ' The model stays dense: it is smaller only compressed, and ONNX Runtime runs it no faster (no latency is claimed for pruning).',
    );
  }
  if (r.latency.length || Object.keys(r.kernels).length)
    lines.push(
      '',
      `Measured with ONNX Runtime on ${r.machine.cpu}${r.machine.threads ? `, ${r.machine.threads} thread(s)` : ''}, load average ${r.machine.loadavg.join(' ')}, ${r.machine.date}` +
        ' (best of two alternated runs of each model; on a loaded machine absolute times vary, the ratio less).',
      ...(Object.keys(r.kernels).length
        ? [
            '',
            `Kernels ORT runs for the compressed model: ${Object.entries(r.kernels)
              .map(([k, n]) => `${k} ×${n}`)
              .join(', ')}.`,
          ]
        : []),
    );
  if (r.prune?.channelGroups) {
    lines.push('', '## Pruned channel groups', '', '| convs | channels | removed |', '|---|---|---|');
    for (const g of r.prune.channelGroups)
      lines.push(`| ${g.producers.join(', ')} | ${g.channels} | ${g.removed.length} |`);
    for (const k of r.prune.keptGroups ?? []) lines.push(`| ${k.producers.join(', ')} | | kept whole: ${k.reason} |`);
  } else if (r.prune) {
    lines.push(
      '',
      '## Pruned layers',
      '',
      '| node | op | weight | weights | zero | sparsity |',
      '|---|---|---|---|---|---|',
    );
    for (const l of r.prune.layers)
      lines.push(`| ${l.node} | ${l.opType} | ${l.weight} | ${l.params} | ${l.zeros} | ${pct(l.sparsity)} |`);
  }
  if (r.layers.length)
    lines.push(
      '',
      '## Layers',
      '',
      '| node | op | precision |',
      '|---|---|---|',
      ...r.layers.map((l) => `| ${l.node} | ${l.opType} | ${l.status}${l.detail ? ` (${l.detail})` : ''} |`),
    );
  if (r.sensitivity) {
    lines.push(
      '',
      '## Sensitivity (only this layer quantized; worst first)',
      '',
      '| node | op | accuracy | drop |',
      '|---|---|---|---|',
    );
    for (const s of r.sensitivity)
      lines.push(`| ${s.node} | ${s.opType} | ${pct(s.accuracy)} | ${s.dropPoints.toFixed(2)} points |`);
    lines.push('', 'Keep the worst layers in float with `quantize.exclude.nodes` (or `--exclude-node`).');
  }
  return lines.join('\n') + '\n';
}
