/**
 * The engine's configuration from a run's settings, in one place for the pipeline's own engine and for each
 * shard's engine in a worker thread (sharded-engine.ts).
 */
import type { EngineConfig } from '../engine/engine.js';
import type { FlowRows } from '../engine/flow-batch.js';
import type { Profile } from '../features/profiles.js';
import type { LiveConfig } from '../config/schema.js';

/** Completed flows per output batch. */
export const BATCH_FLOWS = 1024;

/** The settings the engine is built from (seconds, as the command line and config file give them). */
export type EngineSettings = Pick<LiveConfig, 'flowTimeout' | 'activityTimeout' | 'idleTimeout' | 'maxFlows' | 'portDirection' | 'ipv6'>;

export function engineConfig(
  profile: Profile,
  s: EngineSettings,
  onFlows: (rows: FlowRows) => void,
  shard?: { index: number; count: number },
): EngineConfig {
  return {
    profile,
    flowTimeoutUs: Math.round(s.flowTimeout * 1e6),
    activityTimeoutUs: Math.round(s.activityTimeout * 1e6),
    idleTimeoutUs: Math.round(s.idleTimeout * 1e6),
    maxFlows: s.maxFlows,
    batchSize: BATCH_FLOWS,
    portAwareDirection: s.portDirection,
    ipv6: s.ipv6,
    onFlows,
    ...(shard ? { shard } : {}),
  };
}
