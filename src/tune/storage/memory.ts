// In-memory storage: one process, no persistence. The reference implementation of the Storage contract.
import { StorageError } from '../errors.js';
import { toExternal } from '../distributions.js';
import type { Direction, FrozenTrial, JsonValue, TrialCounts, TrialState } from '../types.js';
import {
  toCounts,
  type FinishedPage,
  type NewParam,
  type NewTrial,
  type Storage,
  type StudyRecord,
} from './storage.js';

interface MutableTrial {
  id: number;
  studyId: number;
  number: number;
  state: TrialState;
  params: Map<string, NewParam>;
  values: number[] | null;
  intermediate: Map<number, number>;
  userAttrs: Record<string, JsonValue>;
  systemAttrs: Record<string, JsonValue>;
  startedAt: number | null;
  completedAt: number | null;
  heartbeatAt: number | null;
  worker: string | null;
  retriedBy: number | null;
  retryOf: number | null;
  finishSeq: number;
}

interface MutableStudy {
  record: StudyRecord;
  userAttrs: Record<string, JsonValue>;
  systemAttrs: Record<string, JsonValue>;
  trials: MutableTrial[];
  finished: MutableTrial[];
}

/**
 * Study storage in process memory (`memory:`): no persistence, one process; the reference implementation of the {@link
 * Storage} contract.
 */
export class MemoryStorage implements Storage {
  readonly kind = 'memory' as const;
  readonly url = 'memory:';
  private readonly studies = new Map<string, MutableStudy>();
  private readonly byId = new Map<number, MutableStudy>();
  private readonly trials = new Map<number, MutableTrial>();
  private nextStudy = 1;
  private nextTrial = 1;

  async createStudy(
    name: string,
    directions: readonly Direction[],
    opts: { loadIfExists?: boolean } = {},
  ): Promise<StudyRecord> {
    const have = this.studies.get(name);
    if (have) {
      if (!opts.loadIfExists) throw new StorageError(`study '${name}' already exists`);
      if (have.record.directions.join() !== directions.join())
        throw new StorageError(
          `study '${name}' exists with directions [${have.record.directions.join(', ')}], not [${directions.join(', ')}]`,
        );
      return this.record(have);
    }
    const s: MutableStudy = {
      record: {
        id: this.nextStudy++,
        name,
        directions: [...directions],
        userAttrs: {},
        systemAttrs: {},
        createdAt: Date.now(),
      },
      userAttrs: {},
      systemAttrs: {},
      trials: [],
      finished: [],
    };
    this.studies.set(name, s);
    this.byId.set(s.record.id, s);
    return this.record(s);
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    const s = this.studies.get(name);
    return s ? this.record(s) : undefined;
  }

  async listStudies(): Promise<readonly StudyRecord[]> {
    return [...this.studies.values()].map((s) => this.record(s));
  }

  async deleteStudy(name: string): Promise<void> {
    const s = this.studies.get(name);
    if (!s) throw new StorageError(`study '${name}' not found`);
    for (const t of s.trials) this.trials.delete(t.id);
    this.studies.delete(name);
    this.byId.delete(s.record.id);
  }

  async setStudyAttr(studyId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void> {
    const s = this.study(studyId);
    (kind === 'user' ? s.userAttrs : s.systemAttrs)[key] = value;
  }

  async createTrial(studyId: number, t: NewTrial, maxTrials?: number): Promise<FrozenTrial | null> {
    const s = this.study(studyId);
    if (maxTrials !== undefined && this.countsSync(studyId).budget >= maxTrials) return null;
    const now = Date.now();
    const m: MutableTrial = {
      id: this.nextTrial++,
      studyId,
      number: s.trials.length,
      state: t.state,
      params: new Map(Object.entries(t.params ?? {})),
      values: null,
      intermediate: new Map(),
      userAttrs: { ...t.userAttrs },
      systemAttrs: { ...t.systemAttrs },
      startedAt: t.state === 'RUNNING' ? now : null,
      completedAt: null,
      heartbeatAt: null,
      worker: t.state === 'RUNNING' ? (t.worker ?? null) : null,
      retriedBy: null,
      retryOf: null,
      finishSeq: 0,
    };
    s.trials.push(m);
    this.trials.set(m.id, m);
    return freeze(m);
  }

  async claimWaiting(studyId: number, worker: string): Promise<FrozenTrial | null> {
    const t = this.study(studyId).trials.find((x) => x.state === 'WAITING');
    if (!t) return null;
    t.state = 'RUNNING';
    t.worker = worker;
    t.startedAt = Date.now();
    return freeze(t);
  }

  async setParam(trialId: number, name: string, param: NewParam): Promise<void> {
    const t = this.running(trialId, 'set a parameter of');
    t.params.set(name, param);
  }

  async reportIntermediate(trialId: number, step: number, value: number): Promise<void> {
    this.running(trialId, 'report to').intermediate.set(step, value);
  }

  async setTrialAttr(trialId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void> {
    const t = this.running(trialId, 'set an attribute of');
    (kind === 'user' ? t.userAttrs : t.systemAttrs)[key] = value;
  }

  async finishTrial(
    trialId: number,
    state: 'COMPLETE' | 'PRUNED' | 'FAILED',
    values: readonly number[] | null,
  ): Promise<boolean> {
    const t = this.trial(trialId);
    if (t.state !== 'RUNNING') return false;
    this.finish(t, state, values);
    return true;
  }

  async heartbeat(trialId: number): Promise<void> {
    const t = this.trial(trialId);
    if (t.state === 'RUNNING') t.heartbeatAt = Date.now();
  }

  async failStale(studyId: number, graceMs: number, maxRetries: number): Promise<readonly FrozenTrial[]> {
    const s = this.study(studyId);
    const cutoff = Date.now() - graceMs;
    const failed: FrozenTrial[] = [];
    for (const t of [...s.trials]) {
      if (t.state !== 'RUNNING' || (t.heartbeatAt ?? t.startedAt ?? 0) >= cutoff) continue;
      this.finish(t, 'FAILED', null);
      t.systemAttrs.fail_reason = 'heartbeat';
      let retries = 0;
      for (let prev = t.retryOf; prev !== null && retries < maxRetries; retries++)
        prev = s.trials.find((x) => x.number === prev)?.retryOf ?? null;
      if (retries < maxRetries) {
        const copy = (await this.createTrial(studyId, { state: 'WAITING', params: Object.fromEntries(t.params) }))!;
        const c = this.trials.get(copy.id)!;
        c.retryOf = t.number;
        t.retriedBy = c.number;
      }
      failed.push(freeze(t));
    }
    return failed;
  }

  async getTrial(trialId: number): Promise<FrozenTrial> {
    return freeze(this.trial(trialId));
  }

  async getTrials(studyId: number, states?: readonly TrialState[]): Promise<readonly FrozenTrial[]> {
    return this.study(studyId)
      .trials.filter((t) => !states || states.includes(t.state))
      .map(freeze);
  }

  async finishedSince(studyId: number, cursor: number): Promise<FinishedPage> {
    const f = this.study(studyId).finished;
    return { trials: f.slice(cursor).map(freeze), cursor: f.length };
  }

  async counts(studyId: number): Promise<TrialCounts> {
    return this.countsSync(studyId);
  }

  private countsSync(studyId: number): TrialCounts {
    const by: Partial<Record<TrialState, number>> = {};
    let requeued = 0;
    for (const t of this.study(studyId).trials) {
      by[t.state] = (by[t.state] ?? 0) + 1;
      if (t.retriedBy !== null) requeued++;
    }
    return toCounts(by, requeued);
  }

  async close(): Promise<void> {}

  private finish(t: MutableTrial, state: 'COMPLETE' | 'PRUNED' | 'FAILED', values: readonly number[] | null): void {
    const s = this.byId.get(t.studyId)!;
    t.state = state;
    t.values = state === 'COMPLETE' && values ? [...values] : null;
    t.completedAt = Date.now();
    s.finished.push(t);
    t.finishSeq = s.finished.length;
  }

  private record(s: MutableStudy): StudyRecord {
    return { ...s.record, userAttrs: { ...s.userAttrs }, systemAttrs: { ...s.systemAttrs } };
  }

  private study(id: number): MutableStudy {
    const s = this.byId.get(id);
    if (!s) throw new StorageError(`study id ${id} not found`);
    return s;
  }

  private trial(id: number): MutableTrial {
    const t = this.trials.get(id);
    if (!t) throw new StorageError(`trial id ${id} not found`);
    return t;
  }

  private running(id: number, what: string): MutableTrial {
    const t = this.trial(id);
    if (t.state !== 'RUNNING') throw new StorageError(`cannot ${what} trial ${t.number}: it is ${t.state}`);
    return t;
  }
}

function freeze(t: MutableTrial): FrozenTrial {
  const params: Record<string, ReturnType<typeof toExternal>> = {};
  const internal: Record<string, number> = {};
  const distributions: Record<string, NewParam['distribution']> = {};
  for (const [k, p] of t.params) {
    params[k] = toExternal(p.distribution, p.internal);
    internal[k] = p.internal;
    distributions[k] = p.distribution;
  }
  return {
    id: t.id,
    number: t.number,
    state: t.state,
    params,
    internal,
    distributions,
    values: t.values ? [...t.values] : null,
    intermediate: new Map(t.intermediate),
    userAttrs: { ...t.userAttrs },
    systemAttrs: { ...t.systemAttrs },
    startedAt: t.startedAt,
    completedAt: t.completedAt,
    heartbeatAt: t.heartbeatAt,
    worker: t.worker,
    retriedBy: t.retriedBy,
    retryOf: t.retryOf,
  };
}
