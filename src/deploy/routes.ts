// The routes of lathe serve that artifacts point at (src/serve/routes/health.ts and metrics.ts). A file without
// imports, so the edge handler (deploy/fetch) can use it without pulling Node modules into a worker bundle.

/** OIP v2 health routes and the Prometheus route of lathe serve. */
export const ROUTES = { live: '/v2/health/live', ready: '/v2/health/ready', metrics: '/metrics' } as const;
/** The OIP v2 infer route of a model. */
export const inferPath = (model: string): string => `/v2/models/${model}/infer`;
