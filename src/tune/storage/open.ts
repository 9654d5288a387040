// Storage URLs: `memory:`, `sqlite:///relative.db` / `sqlite:////absolute.db` (SQLAlchemy's rule, as in Optuna),
// `sqlite:<path>`, a plain file path, or `postgres://user@host:port/db?schema=<name>` (also `postgresql://`).
import { StorageError } from '../errors.js';
import { MemoryStorage } from './memory.js';
import { SqlStorage } from './sql.js';
import type { Storage } from './storage.js';

export type StorageLocation =
  | { readonly kind: 'memory' }
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

/** Parses a storage URL without opening it (errors name the URL). */
export function parseStorageUrl(url: string): StorageLocation {
  if (typeof url !== 'string' || url.trim() === '') throw new StorageError('storage URL is empty');
  if (url === 'memory:' || url === 'memory') return { kind: 'memory' };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  if (url.startsWith('sqlite:')) {
    const rest = url.slice('sqlite:'.length);
    const path = rest.startsWith('///') ? rest.slice(3) : rest.startsWith('//') ? rest.slice(2) : rest;
    if (!path) throw new StorageError(`storage URL '${url}' names no file`);
    return { kind: 'sqlite', path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url))
    throw new StorageError(`storage URL '${url}': unknown scheme (use memory:, sqlite:///file.db or postgres://...)`);
  return { kind: 'sqlite', path: url };
}

/** Opens (and creates the tables of) the storage a URL names. */
export async function openStorage(url: string): Promise<Storage> {
  const loc = parseStorageUrl(url);
  if (loc.kind === 'memory') return new MemoryStorage();
  if (loc.kind === 'sqlite') return SqlStorage.openSqlite(loc.path);
  return SqlStorage.openPostgres(loc.url);
}
