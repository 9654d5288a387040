// Public API of lathe/distributed: the Collective interface and its TCP backend, rendezvous from flags or the
// environment, the distributed sampler and the model fingerprint.
export { type Collective, CollectiveError } from './collective.js';
export { TcpCollective, type TcpCollectiveOptions } from './tcp-collective.js';
export { resolveRendezvous, type RendezvousSpec, type RendezvousFlags } from './rendezvous.js';
export { shardedBatchCount, shardRows, type ShardSpec } from './sampler.js';
