// A procedural 3-D scene of coloured primitives (spheres, axis-aligned boxes, a square floor) and a CPU ray caster
// that renders ground-truth RGB views from known pinhole cameras on the upper hemisphere around it: the data of
// NeRF (docs/models.md). Shading is Lambertian with one directional light and an ambient term, no shadows; rays that
// hit nothing are white. Everything is deterministic: camera poses are drawn from a seeded `Rng`.
import { Rng } from '../util/random.js';

export type Vec3 = readonly [number, number, number];

export interface Sphere {
  readonly kind: 'sphere';
  readonly center: Vec3;
  readonly radius: number;
  readonly color: Vec3;
}
export interface Box {
  readonly kind: 'box';
  readonly min: Vec3;
  readonly max: Vec3;
  readonly color: Vec3;
}
/** A horizontal square at height `y`, |x| ≤ half and |z| ≤ half. */
export interface Floor {
  readonly kind: 'floor';
  readonly y: number;
  readonly half: number;
  readonly color: Vec3;
}
/**
 * One object of a procedural scene: a sphere, an axis-aligned box or a square floor, each with an RGB colour in [0, 1].
 */
export type Primitive = Sphere | Box | Floor;

/** A hit: distance along the ray and the unit surface normal facing the ray. */
export interface Hit {
  readonly t: number;
  readonly normal: Vec3;
}

/** The default scene: a floor, two spheres and two boxes, all within 2.9 units of the origin. */
export const DEFAULT_SCENE: readonly Primitive[] = [
  { kind: 'floor', y: 0, half: 2, color: [0.75, 0.72, 0.65] },
  { kind: 'sphere', center: [-0.7, 0.6, 0.3], radius: 0.6, color: [0.9, 0.15, 0.1] },
  { kind: 'sphere', center: [0.8, 0.35, 0.8], radius: 0.35, color: [0.1, 0.3, 0.9] },
  { kind: 'box', min: [0.2, 0, -1.1], max: [1.1, 0.9, -0.2], color: [0.1, 0.75, 0.2] },
  { kind: 'box', min: [-1.5, 0, -1.4], max: [-0.9, 0.4, -0.8], color: [0.95, 0.8, 0.1] },
];

const LIGHT: Vec3 = normalize([0.4, 1, 0.3]);
const AMBIENT = 0.35;
const EPS = 1e-9;

function normalize(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
}
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];

/** The nearest intersection with t > tMin of the ray o + t·d (d need not be unit) and `p`, or null. */
export function intersect(p: Primitive, o: Vec3, d: Vec3, tMin = 1e-6): Hit | null {
  if (p.kind === 'sphere') {
    const oc: Vec3 = [o[0] - p.center[0], o[1] - p.center[1], o[2] - p.center[2]];
    const a = dot(d, d);
    const b = dot(oc, d);
    const c = dot(oc, oc) - p.radius * p.radius;
    const disc = b * b - a * c;
    if (disc < 0) return null;
    const s = Math.sqrt(disc);
    let t = (-b - s) / a;
    if (t <= tMin) t = (-b + s) / a;
    if (t <= tMin) return null;
    const n = normalize([o[0] + t * d[0] - p.center[0], o[1] + t * d[1] - p.center[1], o[2] + t * d[2] - p.center[2]]);
    return { t, normal: facing(n, d) };
  }
  if (p.kind === 'floor') {
    if (Math.abs(d[1]) < EPS) return null;
    const t = (p.y - o[1]) / d[1];
    if (t <= tMin) return null;
    const x = o[0] + t * d[0];
    const z = o[2] + t * d[2];
    if (Math.abs(x) > p.half || Math.abs(z) > p.half) return null;
    return { t, normal: facing([0, 1, 0], d) };
  }
  // Box: the slab method; the normal is the axis of the slab that was entered (or left, from inside) last.
  let tNear = -Infinity;
  let tFar = Infinity;
  let nearAxis = 0;
  let farAxis = 0;
  for (let k = 0; k < 3; k++) {
    if (Math.abs(d[k]) < EPS) {
      if (o[k] < p.min[k] || o[k] > p.max[k]) return null;
      continue;
    }
    let t0 = (p.min[k] - o[k]) / d[k];
    let t1 = (p.max[k] - o[k]) / d[k];
    if (t0 > t1) [t0, t1] = [t1, t0];
    if (t0 > tNear) {
      tNear = t0;
      nearAxis = k;
    }
    if (t1 < tFar) {
      tFar = t1;
      farAxis = k;
    }
  }
  if (tNear > tFar) return null;
  const [t, axis] = tNear > tMin ? [tNear, nearAxis] : [tFar, farAxis];
  if (t <= tMin) return null;
  const n: [number, number, number] = [0, 0, 0];
  n[axis] = 1;
  return { t, normal: facing(n, d) };
}

/** `n` flipped to face against the ray direction. */
function facing(n: Vec3, d: Vec3): Vec3 {
  return dot(n, d) > 0 ? [-n[0] || 0, -n[1] || 0, -n[2] || 0] : n; // || 0: no −0 components
}

/** The shaded colour seen along o + t·d: the nearest primitive's Lambertian colour, or white when nothing is hit. */
export function shadeRay(scene: readonly Primitive[], o: Vec3, d: Vec3): Vec3 {
  let best: Hit | null = null;
  let color: Vec3 = [1, 1, 1];
  for (const p of scene) {
    const h = intersect(p, o, d);
    if (h && (!best || h.t < best.t)) {
      best = h;
      color = p.color;
    }
  }
  if (!best) return [1, 1, 1];
  const k = AMBIENT + (1 - AMBIENT) * Math.max(0, dot(best.normal, LIGHT));
  return [color[0] * k, color[1] * k, color[2] * k];
}

/** A pinhole camera: camera-to-world rotation (columns right, up, back; it looks along −back) and position. */
export interface Camera {
  readonly right: Vec3;
  readonly up: Vec3;
  readonly back: Vec3;
  readonly origin: Vec3;
}

/** A camera at `origin` looking at `target` with world up +y. */
export function lookAt(origin: Vec3, target: Vec3): Camera {
  const back = normalize([origin[0] - target[0], origin[1] - target[1], origin[2] - target[2]]);
  const right = normalize(cross([0, 1, 0], back));
  return { right, up: cross(back, right), back, origin };
}

/**
 * The rays of every pixel of a `size`×`size` view, row-major from the top-left, as [size², 6] float32: origin then
 * unit direction. `focal` is in pixels; pixel (i, j) goes through its centre.
 */
export function cameraRays(cam: Camera, size: number, focal: number): Float32Array {
  const out = new Float32Array(size * size * 6);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const x = (j + 0.5 - size / 2) / focal;
      const y = -(i + 0.5 - size / 2) / focal;
      const d = normalize([
        x * cam.right[0] + y * cam.up[0] - cam.back[0],
        x * cam.right[1] + y * cam.up[1] - cam.back[1],
        x * cam.right[2] + y * cam.up[2] - cam.back[2],
      ]);
      out.set([...cam.origin, ...d], (i * size + j) * 6);
    }
  }
  return out;
}

/**
 * Options of {@link renderSceneViews} (NeRF training views): number and size of the views, the camera's field of
 * view, distance and pose seed, and the scene.
 */
export interface SceneViewsOptions {
  /** Views rendered (default 100). */
  readonly views?: number;
  /** Image side in pixels (default 64). */
  readonly size?: number;
  /** Horizontal field of view in degrees (default 45). */
  readonly fovDeg?: number;
  /** Camera distance from the look-at point (default 4.5). */
  readonly radius?: number;
  /** Seed of the camera poses (default 0). */
  readonly seed?: number;
  /** The scene (default DEFAULT_SCENE). */
  readonly scene?: readonly Primitive[];
}

/** Rendered views: rays [views, size², 6] and RGB [views, size², 3] in [0, 1], both float32, and the cameras. */
export interface SceneViews {
  readonly size: number;
  readonly focal: number;
  readonly cameras: readonly Camera[];
  readonly rays: Float32Array;
  readonly rgb: Float32Array;
  /** Near and far bounds along unit rays that enclose the scene from every camera. */
  readonly near: number;
  readonly far: number;
}

/** The look-at point of every camera. */
export const SCENE_TARGET: Vec3 = [0, 0.4, 0];

/**
 * Renders `views` ground-truth views of the scene from cameras at `radius` around SCENE_TARGET, at azimuths and
 * elevations (10°–70°) drawn uniformly from a seeded generator.
 */
export function renderSceneViews(opts: SceneViewsOptions = {}): SceneViews {
  const views = opts.views ?? 100;
  const size = opts.size ?? 64;
  const radius = opts.radius ?? 4.5;
  const scene = opts.scene ?? DEFAULT_SCENE;
  for (const [k, v] of [
    ['views', views],
    ['size', size],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`renderSceneViews: ${k} must be a positive integer, got ${v}`);
  }
  if (!(radius > 0)) throw new RangeError(`renderSceneViews: radius must be positive, got ${radius}`);
  const focal = size / 2 / Math.tan(((opts.fovDeg ?? 45) * Math.PI) / 360);
  const rng = new Rng(opts.seed ?? 0);
  const cameras: Camera[] = [];
  const rays = new Float32Array(views * size * size * 6);
  const rgb = new Float32Array(views * size * size * 3);
  for (let v = 0; v < views; v++) {
    const az = rng.uniform(0, 2 * Math.PI);
    const el = rng.uniform(10, 70) * (Math.PI / 180);
    const origin: Vec3 = [
      SCENE_TARGET[0] + radius * Math.cos(el) * Math.cos(az),
      SCENE_TARGET[1] + radius * Math.sin(el),
      SCENE_TARGET[2] + radius * Math.cos(el) * Math.sin(az),
    ];
    const cam = lookAt(origin, SCENE_TARGET);
    cameras.push(cam);
    const r = cameraRays(cam, size, focal);
    rays.set(r, v * size * size * 6);
    for (let p = 0; p < size * size; p++) {
      const o: Vec3 = [r[p * 6], r[p * 6 + 1], r[p * 6 + 2]];
      const d: Vec3 = [r[p * 6 + 3], r[p * 6 + 4], r[p * 6 + 5]];
      rgb.set(shadeRay(scene, o, d), (v * size * size + p) * 3);
    }
  }
  return { size, focal, cameras, rays, rgb, near: Math.max(0.1, radius - 3), far: radius + 3 };
}
