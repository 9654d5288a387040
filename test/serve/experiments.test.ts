// A/B with sticky keys, canary split, shadow traffic compared and logged; the response cache.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Experiment, ResponseCache, parseServeConfig, type LatheServer } from '../../src/serve/index.js';
import { call, metric, mlpInput, model, repo, startServer } from './helpers.js';

describe('experiment routing (pure)', () => {
  const cfg = parseServeConfig({
    models: { a: { source: 'x' }, b: { source: 'y' } },
    experiments: {
      e: {
        variants: [
          { model: 'a', weight: 70 },
          { model: 'b', weight: 30 },
        ],
      },
      c: { variants: [{ model: 'a', weight: 1 }], canary: { model: 'b', percent: 10 } },
    },
  });
  it('is sticky per key and follows the weights', () => {
    const e = new Experiment('e', cfg.experiments.e);
    let b = 0;
    for (let i = 0; i < 4000; i++) {
      const first = e.choose(`user-${i}`).model;
      assert.equal(e.choose(`user-${i}`).model, first);
      if (first === 'b') b++;
    }
    assert.ok(b > 4000 * 0.26 && b < 4000 * 0.34, `b got ${b} of 4000`);
  });
  it('keeps a 90/10 split on small sequential key sets (user-0..1999): the hash avalanches', () => {
    // FNV-1a without a final mix gave 12.3 % (z = 3.4) here; a binomial 10 % of 2,000 has sd 0.67 %.
    for (const name of ['ab', 'e', 'checkout-experiment', 'x']) {
      const e = new Experiment(
        name,
        parseServeConfig({
          models: { a: { source: 'x' }, b: { source: 'y' } },
          experiments: {
            [name]: {
              variants: [
                { model: 'a', weight: 90 },
                { model: 'b', weight: 10 },
              ],
            },
          },
        }).experiments[name],
      );
      let b = 0;
      for (let i = 0; i < 2000; i++) if (e.choose(`user-${i}`).model === 'b') b++;
      const z = (b / 2000 - 0.1) / Math.sqrt((0.1 * 0.9) / 2000);
      assert.ok(Math.abs(z) < 2.6, `experiment '${name}': b got ${b} of 2000 (z = ${z.toFixed(2)})`);
    }
  });
  it('splits a canary percentage off the first variant', () => {
    const c = new Experiment('c', cfg.experiments.c);
    let canary = 0;
    for (let i = 0; i < 4000; i++) if (c.choose(`k${i}`).model === 'b') canary++;
    assert.ok(canary > 4000 * 0.07 && canary < 4000 * 0.13, `canary got ${canary} of 4000`);
  });
});

describe('experiments and cache in the server', () => {
  let s: LatheServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lathe-exp-'));
    s = await startServer({
      models: { mlp: model(join(repo, 'mlp'), { cache: { maxEntries: 100, ttlMs: 60_000 } }) },
      experiments: {
        clf: {
          variants: [
            { model: 'mlp', version: '1', weight: 50 },
            { model: 'mlp', version: '2', weight: 50 },
          ],
          shadow: { model: 'mlp', version: '2', percent: 100 },
          stickyHeader: 'x-user',
          shadowLog: join(dir, 'shadow.jsonl'),
        },
      },
    });
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes each user to one version (sticky) and both versions get traffic', async () => {
    const versions = new Set<string>();
    for (let u = 0; u < 30; u++) {
      const seen = new Set<string>();
      for (let k = 0; k < 3; k++) {
        const r = await call(s, 'POST', '/v2/models/clf/infer', mlpInput([[u, k, 1, 2]]), { 'x-user': `u${u}` });
        assert.equal(r.status, 200);
        seen.add(String(r.body.model_version));
        assert.deepEqual(r.body.parameters && (r.body.parameters as Record<string, unknown>).experiment, 'clf');
      }
      assert.equal(seen.size, 1, `user u${u} saw ${[...seen]}`);
      versions.add([...seen][0]);
    }
    assert.deepEqual([...versions].sort(), ['1', '2']);
  });

  it('mirrors traffic to the shadow, compares and logs it without touching the answer', async () => {
    const deadline = Date.now() + 15000;
    while ((await metric(s, 'lathe_shadow_requests_total')) < 90 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const agree = await metric(s, 'lathe_shadow_requests_total', { experiment: 'clf', outcome: 'agree' });
    const differ = await metric(s, 'lathe_shadow_requests_total', { experiment: 'clf', outcome: 'differ' });
    // a shadow call that times out on a loaded machine is counted as 'error' and never touches the answer
    const errors = await metric(s, 'lathe_shadow_requests_total', { experiment: 'clf', outcome: 'error' });
    assert.equal(agree + differ + errors, 90);
    assert.ok(errors <= 5, `${errors} shadow errors`);
    assert.ok(agree > 0 && differ > 0, `agree ${agree}, differ ${differ}: v2 shadows itself (agree) and v1 (differ)`);
    // the metric is counted before the log line is appended: wait for the file to catch up
    const countLines = () => readFileSync(join(dir, 'shadow.jsonl'), 'utf8').trim().split('\n').length;
    while (countLines() < agree + differ && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const lines = readFileSync(join(dir, 'shadow.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { shadow: string; agree: boolean; maxAbsDiff: number });
    assert.equal(lines.length, agree + differ);
    assert.ok(lines.every((l) => l.shadow === 'mlp/2' && typeof l.maxAbsDiff === 'number'));
  });

  it('caches responses per version and input (hit header, hit ratio metric)', async () => {
    const x = mlpInput([[9, 8, 7, 6]]);
    const first = await call(s, 'POST', '/v2/models/mlp/versions/1/infer', x);
    const second = await call(s, 'POST', '/v2/models/mlp/versions/1/infer', x);
    const otherVersion = await call(s, 'POST', '/v2/models/mlp/versions/2/infer', x);
    assert.equal(first.headers['x-lathe-cache'], undefined);
    assert.equal(second.headers['x-lathe-cache'], 'hit');
    assert.equal(otherVersion.headers['x-lathe-cache'], undefined);
    assert.deepEqual(second.body.outputs, first.body.outputs);
    assert.notDeepEqual(otherVersion.body.outputs, first.body.outputs);
    assert.ok((await metric(s, 'lathe_cache_hit_ratio', { model: 'mlp' })) > 0);
  });
});

describe('ResponseCache', () => {
  it('evicts the least recently used entry and expires entries after the TTL', () => {
    let now = 0;
    const c = new ResponseCache<number>({ maxEntries: 2, ttlMs: 100 }, () => now);
    c.set('a', 1);
    c.set('b', 2);
    assert.equal(c.get('a'), 1); // a is now most recent
    c.set('c', 3); // evicts b
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('a'), 1);
    now = 150;
    assert.equal(c.get('c'), undefined);
    assert.equal(c.size, 1);
  });
});
