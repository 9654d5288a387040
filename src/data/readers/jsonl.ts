// JSON Lines: one JSON value per line; blank lines skipped; errors name the file and line.
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

function parseLine(line: string, source: string, n: number): unknown {
  try {
    return JSON.parse(line);
  } catch (e) {
    throw new Error(`${source}:${n}: invalid JSON (${(e as Error).message})`);
  }
}

/** Parses JSONL text into values. */
export function parseJsonl(text: string, source = '<jsonl>'): unknown[] {
  const out: unknown[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() !== '') out.push(parseLine(line, source, i + 1));
  });
  return out;
}

/** Reads a whole JSONL file. */
export function readJsonl(path: string): unknown[] {
  return parseJsonl(readFileSync(path, 'utf8'), path);
}

/** Streams a JSONL file one value at a time (for files larger than memory), with its 1-based line number. */
export async function* jsonlLines(path: string): AsyncGenerator<{ readonly value: unknown; readonly line: number }> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim() !== '') yield { value: parseLine(line, path, n), line: n };
  }
}
