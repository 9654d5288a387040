import { storeConformance } from './store-conformance.js';
import { pgAvailable, PG_BASE, tempPostgres } from './helpers.js';

let available: Promise<boolean> | undefined;
storeConformance('postgres', tempPostgres, async () =>
  (await (available ??= pgAvailable())) ? false : `PostgreSQL not reachable at ${PG_BASE}`,
);
