import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv } from '../../src/data/readers/csv.js';
import {
  fittedFromJSON,
  impute,
  oneHot,
  standardize,
  tablePipeline,
  tableToArray,
} from '../../src/data/transforms/tabular.js';

const train = parseCsv('age,income,city\n30,100,paris\n,200,berlin\n50,,paris\n40,400,\n', { source: 'train.csv' });
const fresh = parseCsv('age,income,city\n,1000,tokyo\n60,225,berlin\n', { source: 'new.csv' });
const near = (a: ArrayLike<number>, b: readonly number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

test('impute: mean, median, most frequent (ties to the smallest), strings by most frequent', () => {
  const mean = impute({ strategy: 'mean' }).fit(train).toJSON();
  assert.deepEqual(mean, { kind: 'impute', strategy: 'mean', fills: { age: 40, income: 700 / 3, city: 'paris' } });
  const median = impute({ strategy: 'median' }).fit(train);
  assert.deepEqual(median.toJSON(), {
    kind: 'impute',
    strategy: 'median',
    fills: { age: 40, income: 200, city: 'paris' },
  });
  const out = median.transform(train);
  assert.deepEqual(Array.from((out.columns.income as { values: Float64Array }).values), [100, 200, 200, 400]);
  assert.deepEqual(out.columns.city.values, ['paris', 'berlin', 'paris', 'paris']);
  assert.deepEqual(
    impute({ strategy: 'mostFrequent', columns: ['age'] })
      .fit(train)
      .toJSON(),
    { kind: 'impute', strategy: 'mostFrequent', fills: { age: 30 } },
  );
  assert.throws(
    () => impute().fit(parseCsv('a,b\n,1\n,2\n', { columns: { a: 'number' } })),
    /column "a" has no values/,
  );
  const constant = impute({ strategy: 'constant', fill: -1, columns: ['age', 'income'] }).fit(train);
  assert.deepEqual(
    Array.from((constant.transform(train).columns.age as { values: Float64Array }).values),
    [30, -1, 50, 40],
  );
  assert.deepEqual(
    impute({ strategy: 'constant', columns: ['city'] })
      .fit(train)
      .transform(train).columns.city.values,
    ['paris', 'berlin', 'paris', 'missing'],
  );
  assert.throws(
    () => impute({ strategy: 'constant', fill: 'x', columns: ['age'] }).fit(train),
    /column "age" holds numbers; fill "x"/,
  );
});

test('standardize uses training statistics; one-hot uses training categories', () => {
  const filled = impute({ strategy: 'median' }).fit(train).transform(train);
  const s = standardize({ columns: ['age', 'income'] }).fit(filled);
  const j = s.toJSON() as { stats: Record<string, { mean: number; std: number }> };
  near(
    [j.stats.age.mean, j.stats.age.std, j.stats.income.mean, j.stats.income.std],
    [40, Math.sqrt(50), 225, Math.sqrt(11875)],
  );
  near((s.transform(filled).columns.age as { values: Float64Array }).values, [-Math.SQRT2, 0, Math.SQRT2, 0]);
  const oh = oneHot().fit(filled);
  assert.deepEqual(oh.toJSON(), { kind: 'oneHot', handleUnknown: 'ignore', categories: { city: ['berlin', 'paris'] } });
  const t = oh.transform(fresh);
  assert.deepEqual(t.names, ['age', 'income', 'city=berlin', 'city=paris']);
  assert.deepEqual(
    Array.from((t.columns['city=berlin'] as { values: Float64Array }).values),
    [0, 1],
    'unknown "tokyo" is all zeros',
  );
  assert.throws(() => oneHot({ handleUnknown: 'error' }).fit(filled).transform(fresh), /category "tokyo"/);
});

test('a fitted pipeline survives JSON and gives the same result on new data', () => {
  const prep = tablePipeline([
    impute({ strategy: 'median' }),
    oneHot({ columns: ['city'] }),
    standardize({ columns: ['age', 'income'] }),
  ]).fit(train);
  const a = tableToArray(prep.transform(fresh));
  assert.deepEqual(a.shape, [2, 4]);
  near(a.data, [0, (1000 - 225) / Math.sqrt(11875), 0, 0, 20 / Math.sqrt(50), 0, 1, 0], 1e-5);
  const back = fittedFromJSON(JSON.parse(JSON.stringify(prep)));
  assert.deepEqual(Array.from(tableToArray(back.transform(fresh)).data), Array.from(a.data));
  assert.throws(() => fittedFromJSON({ kind: 'scale' }), /unknown kind "scale"/);
  assert.throws(() => tableToArray(train), /column "city" holds strings/);
  assert.throws(() => prep.transform(parseCsv('age,income\n1,2\n')), /no column "city"/);
});
