/**
 * Push mode as one transport: partners call the gateway (POST /ws/smev3, and
 * GET /ws/smev3?wsdl for the contract). Assembled once at start-up: the access
 * checks (client certificates, rate limits, the in-flight cap) and the
 * large-message lane (worker threads for bodies of LARGE_MESSAGE_BYTES or more;
 * none without Redis or with LARGE_MESSAGE_THREADS=0).
 */
import type { FlowContext } from '../flows/context.js';
import type { KeyHoldingThreads } from '../ops/key-reload.js';
import type { CrlSet } from '../pki/crl-set.js';
import type { GatewayKeys } from '../pki/gateway-keys.js';
import type { Transport } from '../transport.js';
import type { RateLimiter } from '../http/rate-limit.js';
import { SoapAccess, type LimitKind } from './access.js';
import { LargeMessageLane } from './large-message-lane.js';
import { registerSmevEndpoint } from './smev-endpoint.js';
import { processSmevPost } from './smev-intake.js';
import { registerWsdlRoute } from './wsdl-route.js';

export interface PushTransportOptions {
  ctx: FlowContext;
  keys: GatewayKeys;
  crlSet: CrlSet;
  /** Told of every message a limit refuses (metrics). */
  onLimited(limit: LimitKind, partner: string | null): void;
  /** Where the client and partner limits are counted (shared through Redis; see src/http/rate-limit.ts). */
  limiter?: RateLimiter;
}

export interface PushTransport extends Transport {
  /** The access checks, for the metrics (SOAP requests in flight). */
  readonly access: SoapAccess;
  /** The lane's threads follow a key reload (null: no lane). */
  readonly threads: KeyHoldingThreads | null;
}

export function startPushTransport(o: PushTransportOptions): PushTransport {
  const { ctx, keys } = o;
  const { config, partners } = ctx;
  const access = new SoapAccess({ clientAuth: config.tls?.clientAuth ?? 'off', partners, limits: config.limits, limiter: o.limiter, onLimited: o.onLimited });
  // Large messages in worker threads, so the event loop keeps serving small ones (LARGE_MESSAGE_*; needs Redis).
  const lane = LargeMessageLane.start({
    config,
    partners,
    logger: ctx.logger,
    takePartnerQuota: async (partnerId) => {
      const partner = partners.get(partnerId);
      if (partner) await access.takePartnerQuota(partner);
    },
    fallback: (post, log) => processSmevPost(ctx, access, post, log),
    revocation: ctx.revocation,
    crlSet: o.crlSet,
    // A token's key is used by this thread only: the lane's threads ask it to sign (see pkcs11-signer.ts).
    eventLoopSigner: config.gatewayKey.kind === 'pkcs11' ? ctx.signer : null,
    signerFor: (fingerprint) => keys.signerFor(fingerprint),
    keyFingerprint: () => keys.certificate.fingerprintSha256,
  });
  return {
    name: 'push',
    access,
    threads: lane,
    registerRoutes(app) {
      registerWsdlRoute(app, config.publicUrl);
      registerSmevEndpoint(app, ctx, access, lane);
    },
    checks: lane
      ? [
          [
            'largeMessages',
            async () => {
              const ready = lane.readyThreads;
              const split = lane.split;
              const huge = split ? `; ${split.hugeThreads} of them for bodies of ${split.hugeBytes} bytes or more` : '';
              return { status: 'pass', detail: `${ready} of ${lane.size} large-message thread(s) ready (bodies of ${config.largeMessages.bytes} bytes or more${huge})${ready === 0 ? '; meanwhile processed on the event loop' : ''}` };
            },
          ],
        ]
      : [],
    stop: async () => lane?.close(),
  };
}
