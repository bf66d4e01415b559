/**
 * /ready's `replication` check (only with REDIS_WAIT_REPLICAS > 0): every
 * commit waits for that many replicas, so with fewer connected every request
 * that stores something would be refused — not ready.
 */
import type { ReplicationStatus } from '../store/types.js';
import type { CheckOutcome } from './readiness.js';

export function replicationReadiness(status: ReplicationStatus): CheckOutcome {
  const { connected, required, role } = status;
  const facts = { connectedReplicas: connected, requiredReplicas: required, role };
  if (role !== 'master') {
    return { status: 'fail', detail: `REDIS_URL points at a ${role}, not the primary: writes are refused there`, ...facts };
  }
  if (connected < required) {
    return { status: 'fail', detail: `${connected} replica(s) connected, ${required} required (REDIS_WAIT_REPLICAS): every commit would be refused`, ...facts };
  }
  return { status: 'pass', detail: `${connected} replica(s) connected, every commit waits for ${required}`, ...facts };
}
