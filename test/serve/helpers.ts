// Shared helpers of the serve tests (not a test file itself).
import { join } from 'node:path';
import {
  createServer,
  parseServeConfig,
  type LatheServer,
  type ModelConfigInput,
  type ServeConfigInput,
} from '../../src/serve/index.js';

const fixtures = join(process.cwd(), 'test', 'fixtures', 'serve');
export const repo = join(fixtures, 'repo');

/** A model entry with small, fast defaults (1 instance, 1 thread, 1 warm-up run). */
export function model(source: string, extra: Partial<ModelConfigInput> = {}): ModelConfigInput {
  return { source, instances: 1, intraOpThreads: 1, warmup: { runs: 1 }, ...extra };
}

export async function startServer(config: ServeConfigInput): Promise<LatheServer> {
  const withLog = {
    ...config,
    server: { logLevel: 'silent', readinessDrainMs: 0, ...(config.server ?? {}) },
  } as ServeConfigInput;
  return createServer({ config: parseServeConfig(withLog) });
}

export interface JsonReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, unknown>;
}

export async function call(
  s: LatheServer,
  method: 'GET' | 'POST',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  const r = await s.app.inject({ method, url, payload: payload as Record<string, unknown>, headers });
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    body = { raw: r.body };
  }
  return { status: r.statusCode, body, headers: r.headers as Record<string, unknown> };
}

/** Value of one Prometheus sample (sum over series matching every given label), 0 when absent. */
export async function metric(s: LatheServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await s.metrics.registry.metrics();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export const mlpInput = (rows: number[][]) => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }],
});
