/**
 * The parts a flow context is made of, read from the configuration's files:
 * the gateway (gateway.ts) and each large-message lane thread
 * (push/large-message-worker.ts) load them the same way, once.
 */
import type { Config } from '../config/env.js';
import { loadPartners } from '../registry/partners.js';
import { loadCatalogue } from '../catalogue/load.js';
import { naming } from '../config/startup-failure.js';
import { Lifecycle } from '../city/lifecycle.js';
import { ENV_KEY_NAMES, loadGatewayIdentity, type GatewayIdentity } from '../pki/gateway-identity.js';
import { GatewayKeys } from '../pki/gateway-keys.js';
import { loadTrustAnchors } from '../pki/trust-anchors.js';
import { loadCrls } from '../pki/crl.js';
import { CrlSet, distributionPoints } from '../pki/crl-set.js';
import type { Logger } from '../log.js';
import type { Signer } from '../pki/signer.js';
import { TrustAnchorSet } from '../pki/trust.js';

/** A CRL can be megabytes: more time than an OCSP answer. */
const CRL_DOWNLOAD_TIMEOUT_MS = 30_000;

type PartsLog = Pick<Logger, 'info' | 'warn' | 'error'>;
const quiet: PartsLog = { info() {}, warn() {}, error() {} } as unknown as PartsLog;

/** Everything but the signing key. */
function loadSharedParts(config: Config, logger: PartsLog, thread = false) {
  // Each loader's error names the variable that led to it (one line at start-up, see config/startup-failure.ts).
  const { registry: partners, warnings } = naming('PARTNERS_FILE', () => loadPartners(config.partnersFile, { portalUrl: config.portalUrl }));
  // A lane thread reads the files its event loop has just checked: no need to exercise every example again.
  const catalogue = naming('SERVICES_DIR', () => loadCatalogue(config.servicesDir, { checkExamples: !thread }));
  const lifecycle = naming('LIFECYCLE_FILE', () => Lifecycle.load(config.lifecycleFile));
  const trust = naming('TRUST_CA_FILE', () => loadTrustAnchors(config.trustCaFile));
  const anchorCertificates = trust.certificates;
  const crls = naming('CRL_FILES', () => loadCrls(config.crlFiles, anchorCertificates));
  const { revocation } = config;
  const registered = [...partners.partners, ...partners.exchanges].flatMap((p) => p.certificates.map((c) => c.certificate));
  const urls = [...new Set([...(revocation.crlDownload ? distributionPoints([...registered, ...anchorCertificates]) : []), ...revocation.crlUrls])];
  // Refreshed by the gateway's event loop (start()); a lane thread's set is handed the event loop's CRLs instead.
  const crlSet = new CrlSet({ anchors: anchorCertificates, files: crls, urls, intervalMs: revocation.crlRefreshIntervalMs, timeoutMs: CRL_DOWNLOAD_TIMEOUT_MS, logger });
  const trustAnchors = new TrustAnchorSet(anchorCertificates, crlSet);
  return { partners, warnings, catalogue, lifecycle, trust, crls, crlSet, trustAnchors };
}

/** The gateway's parts, its signing identity included (a token is opened here; `logger` hears of its outages). */
export function loadFlowParts(config: Config, logger: PartsLog = quiet, thread = false) {
  const initialKey = loadGatewayKey(config, logger);
  const shared = loadSharedParts(config, logger, thread);
  // The key can be replaced while running (renewal): everything signs through keys.signer.
  const keys = new GatewayKeys({
    initial: initialKey,
    // A token key too: its module is shared (pkcs11-signer.ts), so the new key opens beside the one in use.
    load: () => loadGatewayKey(config, logger),
    trustAnchors: shared.trustAnchors,
    refuseSample: config.production && !config.allow.sampleKeys,
  });
  return { ...shared, identity: initialKey.identity, signer: keys.signer, keys };
}

/** The gateway's key and certificate as configured: start-up and every reload read them this way. */
export function loadGatewayKey(config: Config, logger: PartsLog = quiet): { signer: Signer; identity: GatewayIdentity } {
  const identity = loadGatewayIdentity(config.gatewayKey, ENV_KEY_NAMES, logger);
  return { identity, signer: identity.signer };
}

/** A lane thread's signer that asks the event loop to sign: the one to start with, and the one after a reload. */
export interface ForwardedSigning {
  initial: Signer;
  /** A signer for the event loop's key in use now (after it reloaded). */
  current(): Signer;
}

/**
 * A lane thread's parts. With a key held in the process (files) the thread loads
 * and signs with it itself; with a PKCS#11 token it is given a signer that asks
 * the event loop to sign (one token module per process, see pkcs11-signer.ts),
 * and on a reload one for the event loop's new key.
 */
export function loadLaneFlowParts(config: Config, forwarded: ForwardedSigning | null, logger: PartsLog = quiet) {
  if (!forwarded) return loadFlowParts(config, logger, true);
  const identity = { keyDescription: 'PKCS#11 (signed by the event loop)', source: 'event loop', isSample: false, chainPems: [] };
  const keys = new GatewayKeys({ initial: { signer: forwarded.initial, identity }, load: () => ({ signer: forwarded.current(), identity }) });
  return { ...loadSharedParts(config, logger, true), signer: keys.signer, keys };
}

/** How the gateway names itself in MessageMetadata. */
export const GATEWAY_SELF = Object.freeze({ mnemonic: 'okno', name: 'Okno — шлюз единого окна города' });
