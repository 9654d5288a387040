// The training state as the model sees it, read from a step's ping-pong state: parameters, EMA weights and buffers
// by name. Views of the current state set — copy them to keep values past later steps. Shared by the one-graph step
// (TrainStep) and the data-parallel step.
import type { NDArray } from '../graph/ndarray.js';
import type { PingPong } from '../runtime/ping-pong.js';
import { stateKey } from './state-keys.js';

/** Current parameters by name. */
export function paramViews(state: PingPong, names: readonly string[]): Record<string, NDArray> {
  return Object.fromEntries(names.map((n) => [n, state.view(stateKey.param(n))]));
}

/** Current EMA weights by name (a frozen parameter, which has no EMA, as it is). */
export function emaViews(state: PingPong, names: readonly string[]): Record<string, NDArray> {
  const key = (n: string) => (state.has(stateKey.ema(n)) ? stateKey.ema(n) : stateKey.param(n));
  return Object.fromEntries(names.map((n) => [n, state.view(key(n))]));
}

/** Current buffers (e.g. BatchNorm running statistics) by name. */
export function bufferViews(state: PingPong, names: readonly string[]): Record<string, NDArray> {
  return Object.fromEntries(names.map((n) => [n, state.view(stateKey.buffer(n))]));
}
