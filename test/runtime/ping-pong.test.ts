// The ping-pong state (src/runtime/ping-pong.ts): a second buffer only for the entries a run writes, so state that no
// run writes (frozen parameters) is held once; swapping makes the written values current.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ndarray } from '../../src/graph/ndarray.js';
import { PingPong } from '../../src/runtime/ping-pong.js';

test('PingPong holds a second buffer only for the entries a run writes', () => {
  const state = new PingPong({
    written: ndarray('float32', [4], [1, 2, 3, 4]),
    frozen: ndarray('float32', [2, 3], [1, 2, 3, 4, 5, 6]),
  });
  assert.equal(state.heldBytes, (4 + 6) * 4, 'one set before any run');
  const out = state.fetches(['written'], 'new_');
  assert.deepEqual(Object.keys(out), ['new_written']);
  assert.equal(state.heldBytes, (4 + 6 + 4) * 4, 'a second buffer for the written entry only');
  (out.new_written.data as Float32Array).set([5, 6, 7, 8]);
  state.swap(['written']);
  assert.deepEqual([...state.view('written').data], [5, 6, 7, 8]);
  assert.deepEqual([...state.view('frozen').data], [1, 2, 3, 4, 5, 6]);
  // the next run writes into the previous current buffer: nothing more is allocated
  const again = state.fetches(['written'], 'new_');
  assert.deepEqual([...again.new_written.data], [1, 2, 3, 4]);
  assert.equal(state.heldBytes, (4 + 6 + 4) * 4);
});

test('PingPong.fetches names the entry it lacks', () => {
  const state = new PingPong({ a: ndarray('float32', [1], [0]) });
  assert.throws(() => state.fetches(['b'], 'new_'), /state: no entry b/);
});
