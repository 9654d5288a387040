// The dataset a `lathe train --track` run records in its lineage: name and a fingerprint of the data it reads.
import { createHash } from 'node:crypto';
import { datasetNames, getDataset } from '../data/catalog.js';
import { canonicalJson, fingerprintFiles } from '../track/lineage.js';

/**
 * The dataset of a training config as lineage records it: `sha256:` of the files read (`data.root`, or the folder the
 * catalog dataset reads), else — data generated from the config itself (synthetic sets) or a folder that cannot be
 * located — `config-sha256:` of the canonical JSON of the `data` section, which determines such data.
 */
export function datasetLineage(data: { readonly name: string; readonly root?: string }): {
  name: string;
  fingerprint: string;
} {
  try {
    if (data.root !== undefined) return { name: data.name, fingerprint: fingerprintFiles([data.root]) };
    const entry = datasetNames().includes(data.name) ? getDataset(data.name) : undefined;
    if (entry?.locate) return { name: data.name, fingerprint: fingerprintFiles([entry.locate(undefined)]) };
  } catch {
    // not found here: training reports the missing data with its own message; lineage falls back to the config
  }
  const digest = createHash('sha256').update(canonicalJson(data)).digest('hex');
  return { name: data.name, fingerprint: `config-sha256:${digest}` };
}
