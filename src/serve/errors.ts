/** An error that maps onto an HTTP status: its message is safe to show to the client. */
export class ServeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'ServeError';
  }
}

/** 400: the request is malformed; the message names the field at fault. */
export const badRequest = (message: string): ServeError => new ServeError(400, message);
export const notFound = (message: string): ServeError => new ServeError(404, message);

/**
 * Model-side failures: these trigger the fallback chain. `message` goes to the client; `detail`
 * (ONNX Runtime's own text, which names graph nodes) only to the server log.
 */
export class InferenceError extends ServeError {
  constructor(
    message: string,
    readonly reason: 'error' | 'timeout' | 'unavailable',
    readonly detail?: string,
  ) {
    super(
      reason === 'timeout' ? 504 : reason === 'unavailable' ? 503 : 500,
      message,
      reason === 'unavailable' ? 1 : undefined,
    );
    this.name = 'InferenceError';
  }
}

export const queueFullMessage = (model: string, capacity: number): string =>
  `model '${model}' is overloaded: its queue holds ${capacity} requests; retry later`;

/** 503 with Retry-After: the model's queue is full (backpressure). */
export class QueueFullError extends ServeError {
  constructor(model: string, capacity: number, retryAfterS: number) {
    super(503, queueFullMessage(model, capacity), retryAfterS);
    this.name = 'QueueFullError';
  }
}
