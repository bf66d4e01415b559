/**
 * A large-message lane thread (see large-message-lane.ts): loads its own flow
 * context from the process's configuration (catalogue, partners, trust,
 * signing key, its own Redis connection), then runs the SMEV intake for each
 * message the event loop hands it. Partner quotas are asked of the event loop.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { storeRedisSettings } from '../config/env.js';
import { loadPartners, reloadProblem, type Partner } from '../registry/partners.js';
import type { FlowContext } from '../flows/context.js';
import { GATEWAY_SELF, loadLaneFlowParts } from '../flows/flow-parts.js';
import { createLogger } from '../log.js';
import type { Certificate } from '../pki/certificate.js';
import type { CrlSet } from '../pki/crl-set.js';
import { loadTrustAnchors } from '../pki/trust-anchors.js';
import type { RevocationVerdict } from '../pki/ocsp-client.js';
import { ForwardingSigner } from '../pki/forwarding-signer.js';
import { SignerError } from '../pki/signer.js';
import type { GatewayKeys } from '../pki/gateway-keys.js';
import { createStore } from '../store/index.js';
import { SoapAccess } from './access.js';
import { SmevFault } from '../soap/faults.js';
import type { FromLane, LaneWorkerData, ToLane } from './large-message-lane.js';
import { processSmevPost, type SmevGate, type SmevPost } from './smev-intake.js';

const port = parentPort!;
const { config, index, nice } = workerData as LaneWorkerData;
/** The event loop's key (PKCS#11) as last announced: at start, then with each reload. */
let forwardedKey = (workerData as LaneWorkerData).forwardedKey;
const send = (m: FromLane) => port.postMessage(m);

// Its lines carry `lane` (the thread's number), so ops can tell where a message was processed.
const logger = createLogger({ level: config.logLevel, destination: { write: (line: string) => send({ type: 'log', line }) } }).child({ lane: index });

/** The thread's part of a registry reload; the problem, or null. */
let reloadPartners: () => string | null = () => null;

async function main(): Promise<void> {
  let ctx: FlowContext;
  let gate: SmevGate;
  let keys: GatewayKeys;
  const quotas = new Map<number, { resolve(): void; reject(e: Error): void }>();
  let nextQuota = 1;
  const revocations = new Map<number, (verdict: RevocationVerdict) => void>();
  let nextRevocation = 1;
  let crlSet: CrlSet;
  // Signatures the event loop makes for this thread (the key is in a PKCS#11 token there).
  const signatures = new Map<number, { resolve(signature: Buffer): void; reject(e: Error): void }>();
  let nextSignature = 1;
  const forward = (data: Uint8Array, fingerprint: string) =>
    new Promise<Buffer>((resolve, reject) => {
      const id = nextSignature++;
      signatures.set(id, { resolve, reject });
      send({ type: 'sign', id, fingerprint, data: new Uint8Array(data) });
    });
  const forwarded = forwardedKey ? { initial: new ForwardingSigner(forwardedKey, forward), current: () => new ForwardingSigner(forwardedKey!, forward) } : null;
  try {
    const parts = loadLaneFlowParts(config, forwarded, logger);
    // Never refreshed here (no start()): the event loop hands over its CRLs ('crls' messages).
    crlSet = parts.crlSet;
    keys = parts.keys;
    reloadPartners = () => {
      let anchors: Certificate[];
      try {
        anchors = loadTrustAnchors(config.trustCaFile).certificates;
      } catch (error) {
        return (error as Error).message;
      }
      try {
        const { registry: next } = loadPartners(config.partnersFile, { portalUrl: config.portalUrl });
        const problem = reloadProblem(parts.partners, next);
        if (problem) return `PARTNERS_FILE: ${problem}`;
        if (anchors.map((c) => c.fingerprintSha256).join() !== parts.trustAnchors.anchors.map((c) => c.fingerprintSha256).join()) {
          parts.trustAnchors.adopt(anchors);
          parts.crlSet.setAnchors(anchors);
        }
        parts.partners.adopt(next);
        return null;
      } catch (error) {
        return `PARTNERS_FILE: ${(error as Error).message}`;
      }
    };
    const store = await createStore({ ...storeRedisSettings(config), keyPrefix: config.redisKeyPrefix, waitReplicas: config.redisWaitReplicas, waitTimeoutMs: config.redisWaitTimeoutMs });
    ctx = {
      config,
      store,
      catalogue: parts.catalogue,
      lifecycle: parts.lifecycle,
      partners: parts.partners,
      signer: parts.signer,
      trustAnchors: parts.trustAnchors,
      // OCSP is asked on the event loop: one cache and one set of responder calls per process.
      revocation:
        config.revocation.ocsp.mode === 'on'
          ? {
              check: (leaf, issuer, now) =>
                new Promise<RevocationVerdict>((resolve) => {
                  const id = nextRevocation++;
                  revocations.set(id, resolve);
                  send({ type: 'revocation', id, leaf: new Uint8Array(leaf.der), issuer: new Uint8Array(issuer.der), now: now.getTime() });
                }),
            }
          : null,
      logger,
      self: GATEWAY_SELF,
      outboundAgent: null,
      now: () => new Date(),
    };
    // TLS checks are pure (the registry says whose certificate it is); the quota's bucket lives on the event loop.
    const access = new SoapAccess({ clientAuth: config.tls?.clientAuth ?? 'off', partners: parts.partners, limits: { perPartner: null, perClient: null, maxInFlight: 0, perApiToken: null } });
    gate = {
      requireTlsClient: (client) => access.requireTlsClient(client),
      checkTlsPartner: (client, partner) => access.checkTlsPartner(client, partner),
      takePartnerQuota: (partner: Partner) =>
        new Promise<void>((resolve, reject) => {
          const id = nextQuota++;
          quotas.set(id, { resolve, reject });
          send({ type: 'quota', id, partnerId: partner.id });
        }),
    };
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message });
    process.exit(1);
  }

  lowerPriority(nice);

  port.on('message', (m: ToLane) => {
    switch (m.type) {
      case 'process': {
        const post: SmevPost = { ...m.post, raw: Buffer.from(m.post.raw.buffer, m.post.raw.byteOffset, m.post.raw.byteLength) };
        processSmevPost(ctx, gate, post, logger.child({ correlationId: post.correlationId })).then(
          (answer) => send({ type: 'answer', id: m.id, answer }),
          (error: unknown) => send({ type: 'error', id: m.id, message: (error as Error).message }),
        );
        return;
      }
      case 'quota': {
        const q = quotas.get(m.id);
        if (!q) return;
        quotas.delete(m.id);
        if (m.ok) q.resolve();
        else q.reject(new SmevFault('QuoteLimitExceeded', m.message, { retryAfterSeconds: m.retryAfterSeconds }));
        return;
      }
      case 'revocation': {
        const resolve = revocations.get(m.id);
        revocations.delete(m.id);
        resolve?.(m.verdict);
        return;
      }
      case 'crls':
        crlSet.replace(m.crls);
        return;
      case 'signed': {
        const s = signatures.get(m.id);
        if (!s) return;
        signatures.delete(m.id);
        if ('signature' in m) s.resolve(Buffer.from(m.signature));
        else s.reject(new SignerError(m.error));
        return;
      }
      case 'reload-keys':
        // The event loop checked the files and swapped already; this thread reads them the same way
        // (or, with a token, takes the event loop's new certificate and algorithm).
        if (m.forwardedKey) forwardedKey = m.forwardedKey;
        void keys.reload().then((r) => {
          const fingerprint = keys.certificate.fingerprintSha256;
          let problem = !r.ok ? r.problem : fingerprint !== m.fingerprint ? `the key files changed again while reloading (this thread has ${fingerprint.slice(0, 16)}…)` : null;
          // The event loop checked TRUST_CA_FILE and PARTNERS_FILE and took them; this thread reads them the same way.
          if (m.partners) problem ??= reloadPartners();
          send({ type: 'keys-reloaded', id: m.id, ok: problem === null, problem, fingerprint });
        });
        return;
      case 'close':
        void ctx.store.close().finally(() => {
          send({ type: 'closed' });
          process.exit(0);
        });
        return;
    }
  });
  send({ type: 'ready', fingerprint: keys.certificate.fingerprintSha256 });
}

/**
 * Lowers this thread's CPU priority (on Linux the nice value is per thread, and
 * setpriority for the caller changes only the calling thread): when the cores are
 * busy, the event loop's small messages go first and a large one takes what is
 * left, instead of the two sharing a core evenly and every small message behind it
 * waiting. Lowering one's own priority needs no privilege; where the OS refuses,
 * the thread runs at normal priority and says so.
 */
function lowerPriority(nice: number): void {
  if (nice === 0) return;
  try {
    setPriority(nice);
    logger.debug({ nice }, 'large-message thread runs at a lower CPU priority');
  } catch (error) {
    logger.warn({ nice, err: (error as Error).message }, 'large-message thread could not lower its CPU priority; it runs at normal priority');
  }
}

void main();
