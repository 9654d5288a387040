// The server's phases, which health, readiness and admission read.
//
//   loading ──▶ serving ──▶ unready ──▶ draining ──▶ closed
//
// live is true from the first moment the port is open; ready only while `serving` with every model
// warm. On shutdown `unready` still answers every request (with `Connection: close`) for
// `readinessDrainMs`, so load balancers see readiness fail and stop sending; then `draining` closes the
// listener and finishes what was accepted.
/**
 * The server's phase: loading → serving → unready (still answering, readiness false) → draining (listener closed) →
 * closed.
 */
export type Phase = 'loading' | 'serving' | 'unready' | 'draining' | 'closed';

/** The server's current phase, which health, readiness and request admission read. */
export class Lifecycle {
  phase: Phase = 'loading';

  /** Requests are taken (loading: they get 503 until the models are in). */
  get accepting(): boolean {
    return this.phase === 'serving' || this.phase === 'unready';
  }

  /** Responses should end their keep-alive connection. */
  get closingConnections(): boolean {
    return this.phase === 'unready' || this.phase === 'draining' || this.phase === 'closed';
  }
}
