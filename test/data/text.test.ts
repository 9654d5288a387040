import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BpeTokenizer, ByteTokenizer, CharTokenizer, HfTokenizer, loadTokenizer, type Tokenizer } from '../../src/data/text/index.js';

const fixture = (name: string) => join(process.cwd(), 'test/fixtures/data', name);
const corpus = 'the cat sat on the mat. the cat ate the rat! thethe cathat — naïve café ✓\n'.repeat(5);

test('tokenizer contract: ids in range, lossless round trip, toJSON → loadTokenizer gives the same encoding', () => {
  const all: Tokenizer[] = [new ByteTokenizer(['<eos>']), CharTokenizer.fromCorpus(corpus), BpeTokenizer.train(corpus, 300)];
  for (const t of all) {
    const ids = t.encode(corpus);
    assert.ok(ids.every((i) => Number.isInteger(i) && i >= 0 && i < t.vocabSize), `${t.kind}: ids in [0, ${t.vocabSize})`);
    assert.equal(t.decode(ids), corpus, `${t.kind}: round trip`);
    const back = loadTokenizer(JSON.parse(JSON.stringify(t.toJSON())));
    assert.deepEqual(back.encode(corpus), ids, `${t.kind}: saved and loaded`);
  }
});

test('byte and char tokenizers: UTF-8 bytes, specials, unknown characters', () => {
  const b = new ByteTokenizer(['<eos>']);
  assert.deepEqual(b.encode('é'), [0xc3, 0xa9]);
  assert.equal(b.special('<eos>'), 256);
  assert.throws(() => b.special('<bos>'), /no special token "<bos>"/);
  const c = CharTokenizer.fromCorpus('abca');
  assert.equal(c.vocabSize, 4);
  assert.deepEqual(c.encode('cab?'), [3, 1, 2, 0]);
  assert.equal(c.decode(c.encode('cab?')), 'cab<unk>');
});

test('BPE training learns frequent merges, compresses, is deterministic, and encodes unseen text losslessly', () => {
  const t = BpeTokenizer.train(corpus, 300);
  assert.ok(t.merges.length > 10);
  assert.equal(t.token(256 + t.merges.length - 1).length > 0, true);
  assert.ok(t.encode(corpus).length < new ByteTokenizer().encode(corpus).length / 2, 'fewer tokens than bytes');
  assert.ok([...Array(t.vocabSize).keys()].some((i) => t.token(i) === ' the'), 'learned " the"');
  assert.deepEqual(BpeTokenizer.train(corpus, 300).merges, t.merges, 'deterministic');
  const unseen = 'zebra 🦓 the mat';
  assert.equal(t.decode(t.encode(unseen)), unseen);
  assert.throws(() => BpeTokenizer.fromJSON({ kind: 'bpe', merges: [[300, 1]] }), /merge 0 \(300, 1\) refers to a later token/);
});

test('Hugging Face tokenizer.json, WordPiece: normaliser, pre-tokenizer, greedy pieces, [UNK], [CLS]/[SEP], decode', () => {
  const t = HfTokenizer.load(fixture('tokenizer-wordpiece.json'));
  const ids = t.encode('The quick, UNAFFABLE fox jumped!');
  assert.deepEqual(ids.map((i) => t.idToToken(i)), ['[CLS]', 'the', 'quick', ',', 'un', '##aff', '##able', 'fox', 'jump', '##ed', '!', '[SEP]']);
  assert.equal(t.decode(ids), 'the quick, unaffable fox jumped!');
  assert.deepEqual(t.encode('Café zebra [MASK]', { addSpecialTokens: false }).map((i) => t.idToToken(i)), ['cafe', '[UNK]', '[MASK]']);
  assert.deepEqual(t.encode('abb', { addSpecialTokens: false }), [18, 19, 19]);
});

test('Hugging Face tokenizer.json, byte-level BPE: merges by rank, Ġ for spaces, bytes of é, round trip', () => {
  const t = HfTokenizer.load(fixture('tokenizer-bpe.json'));
  const ids = t.encode('hello world');
  assert.deepEqual(ids.map((i) => t.idToToken(i)), ['hello', 'Ġworld']);
  assert.equal(t.decode(ids), 'hello world');
  assert.deepEqual(t.encode('hé<|endoftext|>').map((i) => t.idToToken(i)), ['h', 'Ã©', '<|endoftext|>']);
  assert.equal(t.decode(t.encode('hé')), 'hé');
  assert.throws(() => t.encode('x'), /"x" is not in the vocabulary/);
  assert.throws(() => new HfTokenizer({ model: { type: 'Unigram', vocab: {} } }, 'u.json'), /u\.json: model\.type "Unigram" is not supported/);
});
