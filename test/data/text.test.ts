import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BYTE_TO_UNICODE,
  BpeTokenizer,
  ByteTokenizer,
  CharTokenizer,
  HfTokenizer,
  loadTokenizer,
  splitSpecials,
  type Tokenizer,
} from '../../src/data/text/index.js';
import { packageRoot } from '../../src/util/package-root.js';
import { FileFormatError } from '../../src/util/errors.js';

const fixture = (name: string) => join(packageRoot(), 'test', 'fixtures', 'data', name);
const UNICODE = 'héllo wörld 👋 — ∑x²\n\ttabs';

test('splitSpecials matches the longest special first', () => {
  assert.deepEqual(splitSpecials('a<s>b<sep>', ['<s>', '<sep>']), ['a', 0, 'b', 1]);
  assert.deepEqual(splitSpecials('', ['<s>']), []);
});

test('byte tokenizer: UTF-8 bytes, specials after 255, every string round-trips', () => {
  const t = new ByteTokenizer({ specials: ['<eos>'] });
  assert.equal(t.vocabSize, 257);
  assert.deepEqual(t.encode('hé<eos>'), [104, 0xc3, 0xa9, 256]);
  assert.equal(t.decode(t.encode(UNICODE + '<eos>')), UNICODE + '<eos>');
  assert.equal(t.tokenToId('<eos>'), 256);
  assert.throws(() => t.decode([257]), /id 257/);
  assert.deepEqual(ByteTokenizer.fromJSON(JSON.parse(JSON.stringify(t))).encode('x<eos>'), t.encode('x<eos>'));
});

test('char tokenizer: vocabulary from a corpus, unknown characters map to id 0', () => {
  const t = CharTokenizer.fromCorpus(['abca', 'cb!'], { specials: ['<pad>'] });
  // ids: <unk>=0, <pad>=1, then by code point: '!'=2, 'a'=3, 'b'=4, 'c'=5
  assert.equal(t.vocabSize, 6);
  assert.deepEqual(t.encode('cab!<pad>'), [5, 3, 4, 2, 1]);
  assert.deepEqual(t.encode('az'), [3, 0]);
  assert.equal(t.decode([5, 3, 0]), 'ca<unk>');
  const back = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(t)));
  assert.deepEqual(back.encode('abc!z'), t.encode('abc!z'));
  assert.throws(() => CharTokenizer.fromJSON({ type: 'char' }), /fromJSON/);
});

test('BPE training merges the most frequent pair first, ties to the smallest pair', () => {
  const t = BpeTokenizer.train('aaab aaab aaab', { vocabSize: 258 });
  // (a,a) occurs 6 times; then (a,b) and (aa,a) both 3 times: the smaller pair (97,98) wins.
  assert.deepEqual(t.merges, [
    [97, 97],
    [97, 98],
  ]);
  assert.deepEqual(t.encode('aaab'), [256, 257]);
  assert.equal(t.vocabSize, 258);
});

test('BPE: encode/decode round-trip on any text, compression, save/load JSON', () => {
  const corpus = Array.from(
    { length: 30 },
    (_, i) => `the quick brown fox ${i % 7} jumps over the lazy dog; the end.`,
  ).join('\n');
  const t = BpeTokenizer.train(corpus, { vocabSize: 280, specials: ['<|eos|>'] });
  assert.equal(t.vocabSize, 280);
  const text = 'the lazy fox jumps<|eos|>';
  const ids = t.encode(text);
  assert.ok(ids.length < new TextEncoder().encode(text).length / 2, `merges compress (${ids.length} tokens)`);
  assert.equal(ids[ids.length - 1], 279, 'the special is the last id');
  assert.equal(t.decode(ids), text);
  assert.equal(t.decode(t.encode(UNICODE)), UNICODE, 'unseen characters still round-trip through bytes');
  const dir = mkdtempSync(join(tmpdir(), 'lathe-bpe-'));
  try {
    t.save(join(dir, 'bpe.json'));
    const back = BpeTokenizer.load(join(dir, 'bpe.json'));
    assert.deepEqual(back.encode(corpus.slice(0, 200)), t.encode(corpus.slice(0, 200)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => BpeTokenizer.fromJSON({ type: 'bpe', version: 1, merges: [[300, 1]], specials: [] }), /merge 0/);
});

test('HF tokenizer.json, WordPiece (worked by hand): normaliser, BERT pre-tokenizer, ## pieces, [UNK], template', () => {
  const t = HfTokenizer.load(fixture('hf-wordpiece.json'));
  assert.equal(t.modelType, 'WordPiece');
  // the cat sat , un ##aff ##able mat ##s ! → "!" is not in the vocabulary: [UNK]
  assert.deepEqual(t.encode('The cat sat, unaffable mats!'), [2, 4, 5, 6, 10, 7, 8, 9, 13, 14, 1, 3]);
  assert.deepEqual(t.tokenize('unaffable', { addSpecialTokens: false }), ['un', '##aff', '##able']);
  // lowercase + accent stripping: Café → cafe
  assert.deepEqual(t.encode('Café on the mat.'), [2, 15, 12, 4, 13, 11, 3]);
  // a word with no complete segmentation is one [UNK], not pieces
  assert.deepEqual(t.encode('unx', { addSpecialTokens: false }), [1]);
  // added tokens are matched before normalisation
  assert.deepEqual(t.encode('the [SEP] cat', { addSpecialTokens: false }), [4, 3, 5]);
  assert.equal(t.decode([2, 4, 5, 6, 10, 7, 8, 9, 13, 14, 1, 3]), 'the cat sat, unaffable mats');
  assert.equal(t.decode([4, 3], { skipSpecialTokens: false }), 'the [SEP]');
});

test('HF tokenizer.json, byte-level BPE (worked by hand): merges by rank, Ġ for spaces, added tokens', () => {
  const t = HfTokenizer.load(fixture('hf-bpe-bytelevel.json'));
  assert.equal(BYTE_TO_UNICODE[32], 'Ġ');
  assert.equal(BYTE_TO_UNICODE[10], 'Ċ');
  assert.deepEqual(t.encode('hello world!'), [12, 17, 0]);
  assert.deepEqual(t.tokenize('hello world!'), ['hello', 'Ġworld', '!']);
  // "well": (l,l) is the only known pair; " hold": no merge applies
  assert.deepEqual(t.encode('well hold'), [7, 2, 10, 8, 3, 5, 4, 1]);
  assert.deepEqual(t.encode('hello<|endoftext|>'), [12, 18]);
  // no unk_token: unknown symbols are dropped, as in `tokenizers`
  assert.deepEqual(t.encode('hello zoo'), [12, 8, 5, 5]);
  assert.equal(t.decode([12, 17, 0]), 'hello world!');
  assert.equal(t.decode([12, 18]), 'hello');
  assert.throws(() => new HfTokenizer({ model: { type: 'Unigram', vocab: [] } }), /Unigram/);
  assert.throws(
    () => new HfTokenizer({ model: { type: 'BPE', vocab: {}, merges: [] }, normalizer: { type: 'Precompiled' } }),
    /Precompiled/,
  );
});

test('HF tokenizer.json with a missing or malformed field: a FileFormatError naming the field', () => {
  const good = JSON.parse(readFileSync(fixture('hf-wordpiece.json'), 'utf8')) as Record<string, unknown>;
  const model = good.model as Record<string, unknown>;
  const bpe = { type: 'BPE', vocab: { a: 0, b: 1 }, merges: ['a b'] };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no model', { ...good, model: undefined }, /no "model" object/],
    ['no vocab', { ...good, model: { ...model, vocab: undefined } }, /WordPiece model has no "vocab" object/],
    ['vocab id not a number', { ...good, model: { ...model, vocab: { a: 'x' } } }, /vocab id of "a" is "x"/],
    ['BPE without merges', { model: { type: 'BPE', vocab: {} } }, /BPE model has no "merges" list/],
    ['merge neither form', { model: { ...bpe, merges: [3] } }, /merges\[0\] 3 is neither/],
    ['added token without id', { ...good, added_tokens: [{ content: '[X]' }] }, /added_tokens\[0\] needs/],
    [
      'normalizer Sequence without list',
      { ...good, normalizer: { type: 'Sequence' } },
      /normalizer Sequence has no "normalizers" list/,
    ],
    [
      'pre_tokenizer Sequence item not an object',
      { ...good, pre_tokenizer: { type: 'Sequence', pretokenizers: ['x'] } },
      /"pretokenizers"\[0\] is not an object/,
    ],
    [
      'template without single',
      { ...good, post_processor: { type: 'TemplateProcessing' } },
      /TemplateProcessing has no "single" list/,
    ],
    [
      'BertProcessing without sep',
      { ...good, post_processor: { type: 'BertProcessing', cls: ['[CLS]', 2] } },
      /BertProcessing has no "sep" list/,
    ],
    [
      'BertProcessing cls not a pair',
      { ...good, post_processor: { type: 'BertProcessing', cls: ['[CLS]'], sep: ['[SEP]', 3] } },
      /"cls" is not a \[token, id\] pair/,
    ],
    ['decoder not an object', { ...good, decoder: 'WordPiece' }, /"decoder" is not an object/],
  ];
  const dir = mkdtempSync(join(tmpdir(), 'lathe-hf-'));
  try {
    for (const [name, json, message] of cases) {
      const path = join(dir, 'tokenizer.json');
      writeFileSync(path, JSON.stringify(json));
      assert.throws(
        () => HfTokenizer.load(path),
        (e: unknown) => e instanceof FileFormatError && message.test(e.message),
        name,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // merges as ["left", "right"] pairs, as newer `tokenizers` writes them, still load
  assert.deepEqual(
    new HfTokenizer({ model: { ...bpe, merges: [['a', 'b']], vocab: { a: 0, b: 1, ab: 2 } } }).encode('ab'),
    [2],
  );
});

test('tokenizer contract: ids in range, lossless round trip, toJSON → loadTokenizer gives the same encoding', () => {
  const corpus = 'the cat sat on the mat. the cat ate the rat! thethe cathat — naïve café ✓\n'.repeat(5);
  const all: Tokenizer[] = [
    new ByteTokenizer({ specials: ['<eos>'] }),
    CharTokenizer.fromCorpus(corpus),
    BpeTokenizer.train(corpus, { vocabSize: 300 }),
    HfTokenizer.load(fixture('hf-bpe-bytelevel.json')),
  ];
  for (const t of all) {
    const ids = t.encode(corpus);
    assert.ok(
      ids.every((i) => Number.isInteger(i) && i >= 0 && i < t.vocabSize),
      `${t.constructor.name}: ids in [0, ${t.vocabSize})`,
    );
    if (!(t instanceof HfTokenizer)) assert.equal(t.decode(ids), corpus, `${t.constructor.name}: round trip`);
    const back = loadTokenizer(JSON.parse(JSON.stringify(t.toJSON())));
    assert.deepEqual(back.encode(corpus), ids, `${t.constructor.name}: saved and loaded`);
  }
  assert.throws(() => loadTokenizer({ type: 'sentencepiece' }), /unknown tokenizer type "sentencepiece"/);
});

// A second pair of hand-made tokenizer.json files (another vocabulary, other normaliser/pre-tokenizer settings).
test('HF tokenizer.json, WordPiece with [CLS]/[SEP] template: greedy pieces, accents stripped, [MASK] kept', () => {
  const t = HfTokenizer.load(fixture('tokenizer-wordpiece.json'));
  const ids = t.encode('The quick, UNAFFABLE fox jumped!');
  assert.deepEqual(
    ids.map((i) => t.idToTokenString(i)),
    ['[CLS]', 'the', 'quick', ',', 'un', '##aff', '##able', 'fox', 'jump', '##ed', '!', '[SEP]'],
  );
  assert.equal(t.decode(ids), 'the quick, unaffable fox jumped!');
  assert.deepEqual(t.tokenize('Café zebra [MASK]', { addSpecialTokens: false }), ['cafe', '[UNK]', '[MASK]']);
  assert.deepEqual(t.encode('abb', { addSpecialTokens: false }), [18, 19, 19]);
});

test('HF tokenizer.json, byte-level BPE: bytes of é, added tokens, unsupported models named', () => {
  const t = HfTokenizer.load(fixture('tokenizer-bpe.json'));
  assert.deepEqual(t.tokenize('hello world'), ['hello', 'Ġworld']);
  assert.deepEqual(t.tokenize('hé<|endoftext|>'), ['h', 'Ã©', '<|endoftext|>']);
  assert.equal(t.decode(t.encode('hé')), 'hé');
  assert.throws(() => new HfTokenizer({ model: { type: 'Unigram', vocab: {} } }), /Unigram/);
});
