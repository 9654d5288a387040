// Session options (src/runtime/device.ts): the memory pattern and arena switches reach ORT and a training step without
// either computes the same losses as with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionOptions } from '../../src/runtime/device.js';
import { Linear, ReLU, Sequential, manualSeed } from '../../src/nn/index.js';
import { randomBatch, stepFor } from '../../bench/_workloads.js';

test('sessionOptions: memoryPattern maps to enableMemPattern (default on)', () => {
  assert.equal(sessionOptions().enableMemPattern, process.env.LATHE_MEMORY_PATTERN !== '0');
  assert.equal(sessionOptions({ memoryPattern: false }).enableMemPattern, false);
  assert.equal(sessionOptions({ memoryPattern: true }).enableMemPattern, true);
});

test('sessionOptions: memoryArena maps to enableCpuMemArena (default on)', () => {
  assert.equal(sessionOptions().enableCpuMemArena, process.env.LATHE_MEMORY_ARENA !== '0');
  assert.equal(sessionOptions({ memoryArena: false }).enableCpuMemArena, false);
  assert.equal(sessionOptions({ memoryArena: true }).enableCpuMemArena, true);
});

test('a training step without the memory pattern or the arena gives the same losses as with them', async () => {
  const losses = async (memoryPattern: boolean, memoryArena = true): Promise<number[]> => {
    manualSeed(0);
    const model = new Sequential(new Linear(12, 16), ReLU(), new Linear(16, 3));
    const step = await stepFor(model, [5, 12], 3, { threads: 1, memoryPattern, memoryArena });
    const batch = randomBatch([5, 12], 3);
    const out: number[] = [];
    for (let i = 0; i < 3; i++) out.push((await step.run(batch, 1e-2)).loss);
    await step.release();
    return out;
  };
  const on = await losses(true);
  assert.ok(on[2] < on[0], `the loss falls: ${on}`);
  assert.deepEqual(await losses(false), on);
  assert.deepEqual(await losses(true, false), on, 'without the arena');
});
