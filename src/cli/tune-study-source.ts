// The tracking UI's StudySource over a `lathe tune` storage (memory, SQLite file or PostgreSQL): the CLI wiring
// composes the two layers (track and tune do not import each other), so `lathe ui --studies <url>` shows the
// studies that tune workers are writing, live, without copying them anywhere.
import { existsSync } from 'node:fs';
import { openStorage, parseStorageUrl } from '../tune/storage/open.js';
import type { Storage, StudyRecord } from '../tune/storage/storage.js';
import type { FrozenTrial } from '../tune/types.js';
import type { StudySource, StudySummary, TrialRecord } from '../track/study-views.js';

/** A tune trial as the UI shows it: booleans and null parameters as text, internal values, log scales, intermediate values. */
function trialRecord(t: FrozenTrial): TrialRecord {
  const params: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(t.params))
    params[k] = typeof v === 'number' || typeof v === 'string' ? v : String(v);
  return {
    number: t.number,
    state: t.state,
    params,
    values: t.state === 'COMPLETE' ? t.values : null,
    internal: t.internal,
    logParams: Object.keys(t.distributions).filter((k) => {
      const d = t.distributions[k];
      return d.type !== 'categorical' && d.log;
    }),
    intermediate: [...t.intermediate.entries()].sort((a, b) => a[0] - b[0]),
    ...(t.startedAt !== null ? { startedAt: t.startedAt } : {}),
    ...(t.completedAt !== null ? { completedAt: t.completedAt } : {}),
  };
}

/** Read-only view of the studies in a tune storage; study ids are the study names. */
export class TuneStudySource implements StudySource {
  private constructor(
    private readonly storage: Storage,
    private readonly owns: boolean,
  ) {}

  /** Wraps an open storage (not closed by `close()`). */
  static of(storage: Storage): TuneStudySource {
    return new TuneStudySource(storage, false);
  }

  /** Opens a storage URL (`sqlite:path`, `postgres://...`); errors name the URL. */
  static async open(url: string): Promise<TuneStudySource> {
    const loc = parseStorageUrl(url);
    if (loc.kind === 'sqlite' && !existsSync(loc.path))
      throw new Error(`tune storage ${url}: no such file ${loc.path}`);
    return new TuneStudySource(await openStorage(url), true);
  }

  private async record(id: string): Promise<StudyRecord> {
    const r = await this.storage.getStudy(id);
    if (!r) throw new Error(`study '${id}' not found in ${this.storage.url}`);
    return r;
  }

  private async summary(r: StudyRecord): Promise<StudySummary> {
    const c = await this.storage.counts(r.id);
    return {
      id: r.name,
      name: r.name,
      directions: r.directions,
      trials: c.WAITING + c.RUNNING + c.COMPLETE + c.PRUNED + c.FAILED,
    };
  }

  async listStudies(): Promise<readonly StudySummary[]> {
    const all = await this.storage.listStudies();
    return Promise.all([...all].sort((a, b) => a.name.localeCompare(b.name)).map((r) => this.summary(r)));
  }

  async getStudy(id: string): Promise<StudySummary> {
    return this.summary(await this.record(id));
  }

  async trials(id: string): Promise<readonly TrialRecord[]> {
    const r = await this.record(id);
    const trials = await this.storage.getTrials(r.id);
    return [...trials].sort((a, b) => a.number - b.number).map(trialRecord);
  }

  async close(): Promise<void> {
    if (this.owns) await this.storage.close();
  }
}
