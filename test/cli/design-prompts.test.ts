// `lathe design` on a terminal: missing requirements are asked for, bad answers re-asked, budgets skippable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { promptRequirements } from '../../src/cli/design-prompts.js';

function io(answers: string[]): { input: PassThrough; output: PassThrough; said: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (b: Buffer) => {
    text += b.toString();
  });
  input.end(answers.map((a) => `${a}\n`).join(''));
  return { input, output, said: () => text };
}

test('promptRequirements: asks what is missing, re-asks bad answers, skips budgets on Enter', async () => {
  const t = io(['telepathy', '1', '1,28,0', '1,28,28', 'ten', '10', '54000', '', '100000', '']);
  const r = await promptRequirements({}, t);
  assert.deepEqual(r, {
    task: 'image-classification',
    inputShape: [1, 28, 28],
    classes: 10,
    datasetSize: 54000,
    maxParams: 100000,
  });
  assert.match(t.said(), /one of 1–8 or a name above/);
  assert.match(t.said(), /positive integers separated by commas/);
  assert.match(t.said(), /number of classes: /);
});

test('promptRequirements: keeps what was given, asks only the rest; input that ends names the field', async () => {
  const t = io(['2000']);
  const r = await promptRequirements({ task: 'regression', inputShape: [8] }, t, false);
  assert.deepEqual(r, { task: 'regression', inputShape: [8], datasetSize: 2000 });
  assert.doesNotMatch(t.said(), /task|classes|budget/);
  await assert.rejects(
    promptRequirements({ task: 'text-classification', inputShape: [64] }, io(['5'])),
    /vocab: no answer/,
  );
});
