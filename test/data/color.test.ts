// colorJitter and its steps against torchvision 0.14's tensor functional ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  colorJitter,
} from '../../src/data/transforms/color.js';
import { sampleRandom } from '../../src/data/random.js';
import { img, near, ref } from './image-reference.js';

const x = img([3, 4, 5], ref.colour_input);

test("each colour step equals torchvision's adjust_* (brightness, contrast, saturation, hue)", () => {
  const c = ref.colour;
  near(adjustBrightness(x, 1.3).data, c['brightness_1.3'], 1e-6, 'brightness');
  near(adjustContrast(x, 0.7).data, c['contrast_0.7'], 1e-6, 'contrast 0.7');
  near(adjustContrast(x, 1.8).data, c['contrast_1.8'], 1e-6, 'contrast 1.8');
  near(adjustSaturation(x, 1.6).data, c['saturation_1.6'], 1e-6, 'saturation 1.6');
  near(adjustSaturation(x, 0.4).data, c['saturation_0.4'], 1e-6, 'saturation 0.4');
  near(adjustHue(x, 0.2).data, c['hue_0.2'], 1e-5, 'hue 0.2');
  near(adjustHue(x, -0.35).data, c['hue_-0.35'], 1e-5, 'hue -0.35');
  const chain = adjustSaturation(adjustBrightness(adjustHue(adjustContrast(x, 0.6), 0.1), 1.4), 0.3);
  near(chain.data, c.chain, 1e-5, 'contrast → hue → brightness → saturation');
});

test("each step clamps before the next (the issue's pixels [1, 0]: brightness 1.3 then contrast 0.7 → [0.85, 0.15])", () => {
  const two = img([1, 1, 2], [1, 0]);
  const got = adjustContrast(adjustBrightness(two, 1.3), 0.7).data;
  near(got, ref.colour_two_pixels, 1e-6, 'two pixels');
  near(got, [0.85, 0.15], 1e-6, 'two pixels');
});

test("colorJitter draws factors from torchvision's ranges: brightness 1.5 never goes below 0; hue ≤ 0.5; ranges as [min, max]", () => {
  // factors uniform on [0, 2.5]: 0.4·f is never clamped to 0 (a draw from [-0.5, 2.5] would be 1 time in 6)
  const j = colorJitter({ brightness: 1.5 });
  const grey = img([1, 1, 1], [0.4]);
  let zeros = 0;
  for (let i = 0; i < 400; i++) {
    const v = (j(grey, { epoch: 0, index: i, random: sampleRandom(1, 0, i) }).data as Float32Array)[0];
    assert.ok(v >= 0 && v <= 1);
    if (v === 0) zeros++;
  }
  assert.equal(zeros, 0, 'brightness factor drawn below 0');
  const fixed = colorJitter({ brightness: [0.5, 0.5] });
  near(
    fixed(grey, { epoch: 0, index: 0, random: () => 0.3 }).data as Float32Array,
    [0.2],
    1e-7,
    'brightness [0.5, 0.5]',
  );
  assert.throws(() => colorJitter({ hue: 0.6 }), /hue 0\.6 gives \[-0\.6,0\.6\], outside \[-0\.5, 0\.5\]/);
  assert.throws(() => colorJitter({ contrast: -1 }), /contrast must be ≥ 0/);
  assert.throws(() => colorJitter({ saturation: [2, 1] }), /min ≤ max/);
});

test("colorJitter applies the steps in a random order, every order reachable, each step as torchvision's", () => {
  const j = colorJitter({ brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.2 });
  const outs = new Set<string>();
  for (let i = 0; i < 200; i++) {
    // fix the factors (draws 3..6 = 0.5 → brightness/contrast/saturation 1, hue 0) except the order draws
    const draws = [Math.random(), Math.random(), Math.random(), 0.9, 0.1, 0.5, 0.75];
    let k = 0;
    const y = j(x, { epoch: 0, index: i, random: () => draws[k++] }).data as Float32Array;
    // by hand: the order from the same Fisher–Yates draws, then each torchvision step
    const order = [0, 1, 2, 3];
    for (let t = 3, d = 0; t > 0; t--, d++) {
      const s = Math.floor(draws[d] * (t + 1));
      [order[t], order[s]] = [order[s], order[t]];
    }
    const steps = [
      (a: typeof x) => adjustBrightness(a, 1.4),
      (a: typeof x) => adjustContrast(a, 0.6),
      (a: typeof x) => adjustSaturation(a, 1),
      (a: typeof x) => adjustHue(a, 0.1),
    ];
    let want = x;
    for (const o of order) want = steps[o](want);
    near(y, Array.from(want.data), 1e-6, `order ${order}`);
    outs.add(order.join(''));
  }
  assert.ok(outs.size >= 20, `orders seen: ${outs.size}`);
});
