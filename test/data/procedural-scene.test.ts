// The ground-truth ray caster: ray–primitive intersections on hand-computed cases, camera rays, determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  intersect,
  shadeRay,
  lookAt,
  cameraRays,
  renderSceneViews,
  type Primitive,
} from '../../src/data/procedural-scene.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('sphere: entry distance and outward normal; from inside, the exit; a miss', () => {
  const s: Primitive = { kind: 'sphere', center: [0, 0, 0], radius: 1, color: [1, 0, 0] };
  const h = intersect(s, [0, 0, 5], [0, 0, -1])!;
  close(h.t, 4);
  assert.deepEqual(h.normal, [0, 0, 1]);
  // a non-unit direction scales t: |d| = 2 halves it
  close(intersect(s, [0, 0, 5], [0, 0, -2])!.t, 2);
  // off-axis: x = 0.6 hits at z = 0.8, t = 5 − 0.8
  close(intersect(s, [0.6, 0, 5], [0, 0, -1])!.t, 4.2);
  const inside = intersect(s, [0, 0, 0], [1, 0, 0])!;
  close(inside.t, 1);
  assert.deepEqual(inside.normal, [-1, 0, 0]); // faces the ray
  assert.equal(intersect(s, [0, 1.01, 5], [0, 0, -1]), null);
  assert.equal(intersect(s, [0, 0, 5], [0, 0, 1]), null); // behind
});

test('box: slab entry face and normal; grazing parallel ray outside misses; inside exits', () => {
  const b: Primitive = { kind: 'box', min: [-1, -1, -1], max: [1, 2, 1], color: [0, 1, 0] };
  const h = intersect(b, [5, 0, 0], [-1, 0, 0])!;
  close(h.t, 4);
  assert.deepEqual(h.normal, [1, 0, 0]);
  const top = intersect(b, [0.5, 10, 0.5], [0, -1, 0])!;
  close(top.t, 8);
  assert.deepEqual(top.normal, [0, 1, 0]);
  // diagonal: from (3, 3, 0) along (−1, −1, 0)/√2 the x slab is entered at x = 1 (t = 2√2), y = 1 < 2
  const diag = intersect(b, [3, 3, 0], [-Math.SQRT1_2, -Math.SQRT1_2, 0])!;
  close(diag.t, 2 * Math.SQRT2, 1e-12);
  assert.deepEqual(diag.normal, [1, 0, 0]);
  assert.equal(intersect(b, [5, 0, 1.5], [-1, 0, 0]), null);
  close(intersect(b, [0, 0, 0], [0, 0, 1])!.t, 1);
});

test('floor: plane hit inside the square, miss outside it and for rays parallel to it', () => {
  const f: Primitive = { kind: 'floor', y: 0, half: 2, color: [0.5, 0.5, 0.5] };
  const h = intersect(f, [1, 3, 0], [0, -1, 0])!;
  close(h.t, 3);
  assert.deepEqual(h.normal, [0, 1, 0]);
  close(intersect(f, [0, 2, 0], [0.6, -0.8, 0])!.t, 2.5); // lands at x = 1.5
  assert.equal(intersect(f, [0, 2, 0], [0.8, -0.6, 0]), null); // lands at x = 2.67 > 2
  assert.equal(intersect(f, [0, 2, 0], [1, 0, 0]), null);
});

test('shading: nearest primitive wins; a miss is white; Lambert with ambient', () => {
  const scene: Primitive[] = [
    { kind: 'sphere', center: [0, 0, 0], radius: 1, color: [1, 0, 0] },
    { kind: 'sphere', center: [0, 0, -3], radius: 1, color: [0, 0, 1] },
  ];
  const c = shadeRay(scene, [0, 0, 5], [0, 0, -1]);
  assert.ok(c[0] > 0 && c[1] === 0 && c[2] === 0, `${c}`);
  assert.deepEqual(shadeRay(scene, [0, 5, 5], [0, 0, -1]), [1, 1, 1]);
});

test('camera rays are unit, start at the camera, and pixel (0, 0) looks up-left', () => {
  const cam = lookAt([0, 0, 4], [0, 0, 0]);
  const r = cameraRays(cam, 2, 1);
  for (let p = 0; p < 4; p++) {
    close(Math.hypot(r[p * 6 + 3], r[p * 6 + 4], r[p * 6 + 5]), 1, 1e-6);
    assert.deepEqual([...r.slice(p * 6, p * 6 + 3)], [0, 0, 4]);
  }
  // pixel (0, 0) is top-left: direction (−0.5, 0.5, −1)/|·|
  const n = Math.hypot(0.5, 0.5, 1);
  close(r[3], -0.5 / n, 1e-6);
  close(r[4], 0.5 / n, 1e-6);
  close(r[5], -1 / n, 1e-6);
});

test('renderSceneViews is deterministic per seed, in [0, 1], and shows both objects and background', () => {
  const a = renderSceneViews({ views: 3, size: 16, seed: 5 });
  const b = renderSceneViews({ views: 3, size: 16, seed: 5 });
  const c = renderSceneViews({ views: 3, size: 16, seed: 6 });
  assert.deepEqual(a.rgb, b.rgb);
  assert.notDeepEqual(a.rgb, c.rgb);
  assert.equal(a.rgb.length, 3 * 256 * 3);
  assert.ok(a.rgb.every((v) => v >= 0 && v <= 1));
  const white = a.rgb.filter(
    (_, i) => i % 3 === 0 && a.rgb[i] === 1 && a.rgb[i + 1] === 1 && a.rgb[i + 2] === 1,
  ).length;
  assert.ok(white > 0 && white < 3 * 256, `white pixels ${white}`);
  assert.throws(() => renderSceneViews({ size: 0 }), /size must be a positive integer/);
});
