// The one validation of names and text the tracking layer stores: the library (Run, startRun), the store
// (every write and every query that takes text) and the REST API all call these, so both stores and both
// paths accept exactly the same input.
import { TrackingError, type ParamValue } from './types.js';

/** Keys of params, tags and metrics, and experiment names: 1-250 characters, no control characters (U+0000-U+001F). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: excluding control characters (U+0000-U+001F) is the point
const KEY = /^[^\u0000-\u001f]{1,250}$/;

/** Checks a param, tag or metric key (or an experiment name); throws a 400 naming it. */
export function checkKey(what: string, key: unknown): string {
  if (typeof key !== 'string' || !KEY.test(key))
    throw new TrackingError(`${what} name ${JSON.stringify(key)} must be 1-250 characters without control characters`);
  return key;
}

/**
 * Checks a text value the stores will hold (a tag value, a string param, notes, a filter): PostgreSQL cannot store
 * U+0000 in TEXT, so neither store accepts it (SQLite would, and the two would disagree).
 */
export function checkText(what: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new TrackingError(`${what} must be a string (got ${value === null ? 'null' : typeof value})`);
  const at = value.indexOf('\u0000');
  if (at >= 0)
    throw new TrackingError(
      `${what} contains a NUL character (U+0000) at position ${at}; the tracking stores cannot hold it`,
    );
  return value;
}

/** Checks a param: its key, its type, and its text when it is a string. */
export function checkParam(key: string, value: unknown): ParamValue {
  checkKey('param', key);
  if (typeof value === 'string') return checkText(`param '${key}'`, value);
  if (typeof value !== 'number' && typeof value !== 'boolean')
    throw new TrackingError(`param '${key}' must be a string, number or boolean`);
  return value;
}

/** Checks a tag: key and value. */
export function checkTag(key: string, value: unknown): string {
  checkKey('tag', key);
  return checkText(`tag '${key}'`, value);
}

/** Checks every param and tag of a batch or a new run. */
export function checkParamsAndTags(
  params: Readonly<Record<string, unknown>> | undefined,
  tags: Readonly<Record<string, unknown>> | undefined,
): void {
  for (const [k, v] of Object.entries(params ?? {})) checkParam(k, v);
  for (const [k, v] of Object.entries(tags ?? {})) checkTag(k, v);
}
