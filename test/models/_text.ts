import * as L from '../../src/graph/index.js';

/** Character windows of a small real-looking text: x = text[i:i+T], y = text[i+1:i+T+1]. */
export function charWindows(
  text: string,
  vocab: string,
  t: number,
  n: number,
  stride = 3,
): { x: L.NDArray; y: L.NDArray } {
  const ids = [...text].map((c) => Math.max(0, vocab.indexOf(c)));
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = (i * stride) % (ids.length - t - 1);
    xs.push(...ids.slice(o, o + t));
    ys.push(...ids.slice(o + 1, o + t + 1));
  }
  return { x: L.int64([n, t], xs), y: L.int64([n, t], ys) };
}
