// Knowledge distillation: the loss against a case computed by hand (and PyTorch's value for it), its gradient against
// finite differences, the teacher loader feeding the teacher's own outputs, a tiny student trained through
// runTraining with a teacher given as a run directory and as a checkpoint, and the errors naming a bad teacher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { compile } from '../../src/runtime/compile.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { distillationLoss, openTeacher, TeacherLoader } from '../../src/train/distill.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { runTraining } from '../../src/train/run.js';
import { checkGrad } from '../util/gradcheck.js';
import { runCli } from '../util/cli.js';

const s = [
  [1, 2, 0],
  [0.3, -1, 2.5],
];
const t = [
  [0.5, 1, 3],
  [2, 0, -1],
];
const y = [1, 2];

/** The loss written out: α·T²·mean_b Σ_c p_t (log p_t − log p_s) + (1 − α)·mean_b −log softmax(s)_y. */
function byHand(T: number, alpha: number): number {
  const logSoftmax = (v: number[]): number[] => {
    const m = Math.max(...v);
    const z = Math.log(v.reduce((a, x) => a + Math.exp(x - m), 0)) + m;
    return v.map((x) => x - z);
  };
  let kl = 0,
    ce = 0;
  for (let b = 0; b < 2; b++) {
    const ls = logSoftmax(s[b].map((x) => x / T)),
      lt = logSoftmax(t[b].map((x) => x / T));
    kl += lt.reduce((a, l, c) => a + Math.exp(l) * (l - ls[c]), 0);
    ce -= logSoftmax(s[b])[y[b]];
  }
  return alpha * T * T * (kl / 2) + (1 - alpha) * (ce / 2);
}

test('distillationLoss equals the hand-computed loss (and PyTorch kl_div batchmean + cross_entropy)', async () => {
  const f = compile((a: L.Tensor, b: L.Tensor, c: L.Tensor) =>
    distillationLoss(a, b, c, { temperature: 2, alpha: 0.7 }),
  );
  const out = await f(L.float64([2, 3], s.flat()), L.float64([2, 3], t.flat()), L.int64([2], y));
  const v = Number(out.data[0]);
  assert.ok(Math.abs(v - byHand(2, 0.7)) < 1e-12, `${v} vs ${byHand(2, 0.7)}`);
  // torch 1.13 (/usr/bin/python3): 0.7·4·kl_div(log_softmax(s/2), log_softmax(t/2), 'batchmean', log_target=True) + 0.3·cross_entropy(s, y)
  assert.ok(Math.abs(v - 1.5215230478702526) < 1e-12, `${v}`);
  // α = 1: the distillation term alone; T = 1, α = 0 is the plain cross-entropy
  const g = compile((a: L.Tensor, b: L.Tensor, c: L.Tensor) => [
    distillationLoss(a, b, c, { temperature: 3, alpha: 1 }),
    distillationLoss(a, b, c, { temperature: 1, alpha: 0 }),
  ]);
  const [o1, o0] = await g(L.float64([2, 3], s.flat()), L.float64([2, 3], t.flat()), L.int64([2], y));
  assert.ok(Math.abs(Number(o1.data[0]) - byHand(3, 1)) < 1e-12);
  assert.ok(Math.abs(Number(o0.data[0]) - 0.26975575507869043) < 1e-12);
});

test('distillationLoss: the gradient in the student logits matches finite differences', async () => {
  const yT = L.constant(L.int64([2], y));
  await checkGrad(
    'distill',
    (a, b) => distillationLoss(a, b, yT, { temperature: 2.5, alpha: 0.6 }),
    [L.float64([2, 3], s.flat()), L.float64([2, 3], t.flat())],
    { wrt: [0] },
  );
});

/** A linear "teacher" ONNX file: logits = x · W with W fixed. */
function teacherFile(dir: string): void {
  const x = L.placeholder('input', 'float32', ['batch', 4]);
  const W = L.constant(L.float32([4, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]));
  writeFileSync(
    join(dir, 'teacher.onnx'),
    encodeModel(emitModel({ inputs: [x], outputs: { logits: L.matmul(x, W) } })),
  );
}

test("TeacherLoader adds the teacher's logits for each batch's inputs", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-distill-'));
  teacherFile(dir);
  const teacher = await openTeacher(join(dir, 'teacher.onnx'));
  try {
    const xs = Float32Array.from({ length: 20 }, (_, i) => i / 10 - 1);
    const loader = new TeacherLoader(
      new ArrayLoader({ x: L.float32([5, 4], xs), y: L.int64([5], [0, 1, 2, 0, 1]) }, { batchSize: 2 }),
      teacher,
    );
    assert.equal(loader.length, 3);
    let row = 0;
    for await (const b of loader.iterate(0)) {
      const tl = b.teacher.data as Float32Array;
      assert.deepEqual(b.teacher.shape, [b.x.shape[0], 3]);
      for (let i = 0; i < b.x.shape[0]; i++, row++) {
        const v = xs.subarray(row * 4, row * 4 + 4);
        assert.deepEqual(
          Array.from(tl.subarray(i * 3, i * 3 + 3)),
          [v[0] + v[3], v[1] + v[3], v[2] + v[3]].map(Math.fround),
        );
      }
    }
    assert.equal(row, 5);
  } finally {
    await teacher.release();
  }
});

test('a bad teacher gets an error naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-distill-bad-'));
  await assert.rejects(
    openTeacher(join(dir, 'nope.onnx')),
    /distill\.teacher: .*nope\.onnx: no such file or run directory/,
  );
  await assert.rejects(openTeacher(dir), /distill\.teacher: .*: the directory has no model\.onnx/);
  writeFileSync(join(dir, 'junk.onnx'), 'not a model');
  await assert.rejects(openTeacher(join(dir, 'junk.onnx')), /distill\.teacher: .*junk\.onnx: /);
  writeFileSync(join(dir, 'w.txt'), 'x');
  await assert.rejects(
    openTeacher(join(dir, 'w.txt')),
    /distill\.teacher: .*w\.txt: expected an \.onnx file, a run directory or a checkpoint \.json/,
  );
  // through runTraining: the config's teacher, named, before any training
  const cfg = parseTrainConfig({
    model: { name: 'mlp', options: { hidden: [8] } },
    data: { name: 'fashion-mnist-subset', limit: 64 },
    optimizer: { name: 'sgd', lr: 0.1 },
    trainer: { epochs: 1 },
    output: join(dir, 'student'),
    distill: { teacher: join(dir, 'missing-run') },
  });
  await assert.rejects(runTraining(cfg, { quiet: true }), /distill\.teacher: .*missing-run: no such file/);
  assert.throws(() => parseTrainConfig({ ...cfg, distill: { teacher: 'x.onnx', alpha: 2 } }), /distill\.alpha/);
  // and from the CLI, with the teacher set on the command line
  const file = join(dir, 'cfg.json');
  writeFileSync(file, JSON.stringify({ ...cfg, distill: undefined }));
  const r = runCli([
    'train',
    file,
    '--set',
    `distill.teacher=${join(dir, 'gone.onnx')}`,
    '--set',
    'distill.temperature=2',
  ]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /distill\.teacher: .*gone\.onnx: no such file or run directory/);
});

test('a tiny student trains with a teacher given as a run directory and as a checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-distill-run-'));
  const base = {
    data: { name: 'fashion-mnist-subset', limit: 1024, batchSize: 64 },
    optimizer: { name: 'adam', lr: 0.01 },
    trainer: { epochs: 3, threads: 1 },
  };
  const teacherRun = await runTraining(
    parseTrainConfig({
      ...base,
      name: 't',
      model: { name: 'cnn', options: { widths: [4, 8], hidden: 16 } },
      output: join(dir, 'teacher'),
    }),
    { quiet: true },
  );
  const student = (out: string, distill?: unknown) =>
    parseTrainConfig({
      ...base,
      name: 's',
      model: { name: 'cnn', options: { widths: [2, 4], hidden: 8 } },
      output: join(dir, out),
      ...(distill ? { distill } : {}),
    });
  const plain = await runTraining(student('plain'), { quiet: true });
  const fromRun = await runTraining(student('from-run', { teacher: teacherRun.runDir, temperature: 3, alpha: 0.8 }), {
    quiet: true,
  });
  const fromCk = await runTraining(student('from-ck', { teacher: teacherRun.checkpoint, temperature: 3, alpha: 0.8 }), {
    quiet: true,
  });
  assert.ok(teacherRun.testAccuracy! > 0.5, `the teacher learned: ${teacherRun.testAccuracy}`);
  for (const r of [fromRun, fromCk]) {
    assert.ok(Number.isFinite(r.testLoss) && r.testAccuracy! > 0.4, JSON.stringify(r));
    // the distillation loss falls epoch over epoch (metrics.csv: epoch,step,seconds,train_loss,val_loss,...)
    const rows = readFileSync(join(r.runDir, 'metrics.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map(Number));
    assert.equal(rows.length, 3);
    assert.ok(rows[2][4] < rows[0][4], `val loss ${rows.map((x) => x[4]).join(' → ')}`);
    assert.notEqual(r.testLoss, plain.testLoss, 'the teacher entered the loss');
  }
  // the exported run model and the checkpoint export (BatchNorm folded both) give the same teacher: the same student
  assert.ok(Math.abs(fromRun.testLoss - fromCk.testLoss) < 1e-3, `${fromRun.testLoss} vs ${fromCk.testLoss}`);
  assert.equal(fromRun.testAccuracy, fromCk.testAccuracy);
  // the student's exported model is a plain classifier: the teacher is not in it
  const sess = await ort.InferenceSession.create(fromRun.onnxPath);
  assert.deepEqual(sess.inputNames.length, 1);
  await sess.release();
});
