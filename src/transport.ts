/**
 * A transport: one way messages reach the gateway and leave it — push (partners
 * call POST /ws/smev3, src/push/), pull (the gateway polls a SMEV 3 exchange,
 * src/pull/). Each lives in its own folder and is started by one line in
 * src/gateway.ts; it registers the HTTP routes partners call, runs its
 * background work, tells /ready how it is, and stops. What a message causes
 * once it is in (src/flows/) is the same whichever transport brought it.
 */
import type { FastifyInstance } from 'fastify';
import type { ReadinessCheck } from './ops/readiness.js';

export interface Transport {
  /** For logs and /ready ("push", "pull"). */
  readonly name: string;
  /** The routes partners call, on the gateway's HTTP server (a transport that only calls out has none). */
  registerRoutes(app: FastifyInstance): void;
  /** Readiness checks by name, asked by GET /ready. */
  readonly checks: ReadonlyArray<readonly [name: string, check: ReadinessCheck]>;
  /** Stops its background work; the gateway stops transports before the store and the signer. */
  stop(): Promise<void>;
}
