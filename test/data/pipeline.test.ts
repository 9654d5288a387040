// Pipelines as data: every built-in kind rejects options it does not know (the docs promise it), naming the kind
// and the option; the new options of resample reach its filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineSource } from '../../src/data/pipeline.js';
import { batchTransformKinds, datasetKinds, transformKinds } from '../../src/data/registry.js';
import { resample } from '../../src/data/audio/resample.js';
import '../../src/data/builtins.js';

test('every built-in dataset, transform and batch-transform kind rejects an unknown option by name', async () => {
  const registries = [datasetKinds, transformKinds, batchTransformKinds];
  let n = 0;
  for (const r of registries)
    for (const kind of r.kinds()) {
      await assert.rejects(r.build({ kind, bogusOption: 1 }, 'spec'), (e: Error) => {
        assert.match(e.message, new RegExp(`\\(${kind}\\).*unknown option "bogusOption"`), `${kind}: ${e.message}`);
        return true;
      });
      n++;
    }
  assert.ok(n >= 23, `${n} kinds`);
  for (const kind of ['resample', 'logMel', 'normalize']) assert.ok(transformKinds.kinds().includes(kind));
});

test('a pipeline names the transform at fault', async () => {
  await assert.rejects(
    pipelineSource({
      dataset: { kind: 'fashion-mnist', split: 'test', subset: true },
      transforms: [{ kind: 'resample', from: 8000, to: 16000, rollof: 0.9 }],
    }),
    /pipeline\.transforms\[0\] \(resample\): unknown option "rollof" \(known: from, to, zeros, rolloff\)/,
  );
});

test('resample takes its filter width and rolloff from the pipeline; bad values are errors', async () => {
  const wave = Float32Array.from({ length: 400 }, (_, i) => Math.sin(i / 3));
  const t = await transformKinds.build({ kind: 'resample', from: 16000, to: 8000, zeros: 4, rolloff: 0.8 }, 'spec');
  const got = t({ dtype: 'float32', shape: [400], data: wave }, { epoch: 0, index: 0, random: Math.random })
    .data as Float32Array;
  assert.deepEqual(Array.from(got), Array.from(resample(wave, 16000, 8000, { zeros: 4, rolloff: 0.8 })));
  assert.notDeepEqual(Array.from(got), Array.from(resample(wave, 16000, 8000)));
  await assert.rejects(
    transformKinds.build({ kind: 'resample', from: 1, to: 2, rolloff: 1.5 }, 'spec'),
    /rolloff must be in \(0, 1\]/,
  );
  await assert.rejects(
    transformKinds.build({ kind: 'resample', from: 1, to: 2, zeros: 0 }, 'spec'),
    /zeros must be an integer ≥ 1/,
  );
});
