/**
 * The parts a flow context is made of, read from the configuration's files:
 * the gateway (gateway.ts) and each large-message lane thread
 * (soap/large-message-worker.ts) load them the same way, once.
 */
import type { Config } from '../config/env.js';
import { loadPartners } from '../config/partners.js';
import { loadCatalogue } from '../catalogue/load.js';
import { Lifecycle } from '../city/lifecycle.js';
import { ENV_KEY_NAMES, loadGatewayIdentity, type GatewayIdentity } from '../pki/gateway-identity.js';
import { GatewayKeys } from '../pki/gateway-keys.js';
import { loadTrustAnchors } from '../pki/trust-anchors.js';
import { loadCrls } from '../pki/crl.js';
import { CrlSet, distributionPoints } from '../pki/crl-set.js';
import type { Logger } from '../log.js';
import type { Signer } from '../signature/signer.js';
import { TrustAnchorSet } from '../signature/trust.js';

/** A CRL can be megabytes: more time than an OCSP answer. */
const CRL_DOWNLOAD_TIMEOUT_MS = 30_000;

type PartsLog = Pick<Logger, 'info' | 'warn' | 'error'>;
const quiet: PartsLog = { info() {}, warn() {}, error() {} } as unknown as PartsLog;

/** Everything but the signing key. */
function loadSharedParts(config: Config, logger: PartsLog) {
  const { registry: partners, warnings } = loadPartners(config.partnersFile, { portalUrl: config.portalUrl });
  const catalogue = loadCatalogue(config.servicesDir);
  const lifecycle = Lifecycle.load(config.lifecycleFile);
  const trust = loadTrustAnchors(config.trustCaFile);
  const anchorCertificates = trust.certificates;
  const crls = loadCrls(config.crlFiles, anchorCertificates);
  const { revocation } = config;
  const registered = [...partners.partners, ...partners.exchanges].flatMap((p) => p.certificates.map((c) => c.certificate));
  const urls = [...new Set([...(revocation.crlDownload ? distributionPoints([...registered, ...anchorCertificates]) : []), ...revocation.crlUrls])];
  // Refreshed by the gateway's event loop (start()); a lane thread's set is handed the event loop's CRLs instead.
  const crlSet = new CrlSet({ anchors: anchorCertificates, files: crls, urls, intervalMs: revocation.crlRefreshIntervalMs, timeoutMs: CRL_DOWNLOAD_TIMEOUT_MS, logger });
  const trustAnchors = new TrustAnchorSet(anchorCertificates, crlSet);
  return { partners, warnings, catalogue, lifecycle, trust, crls, crlSet, trustAnchors };
}

/** The gateway's parts, its signing identity included (a token is opened here; `logger` hears of its outages). */
export function loadFlowParts(config: Config, logger: PartsLog = quiet) {
  const initialKey = loadGatewayKey(config, logger);
  const shared = loadSharedParts(config, logger);
  // The key can be replaced while running (renewal): everything signs through keys.signer.
  const keys = new GatewayKeys({
    initial: initialKey,
    load: config.gatewayKey.kind === 'pkcs11' ? refuseTokenReload : () => loadGatewayKey(config, logger),
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

/**
 * A token's module keeps process-wide state (C_Initialize/C_Finalize): a second session set opened
 * beside the live one would end it. A key renewed in a token is taken up by a restart (with
 * WORKERS > 1, one worker at a time).
 */
function refuseTokenReload(): never {
  throw new Error('a PKCS#11 key is not reloaded while running: restart the gateway (with WORKERS > 1 the workers restart one by one)');
}

/**
 * A lane thread's parts. With a key held in the process (files) the thread loads
 * and signs with it itself; with a PKCS#11 token it is given a signer that asks
 * the event loop to sign (one token session per process, see pkcs11-signer.ts).
 */
export function loadLaneFlowParts(config: Config, signer: Signer | null, logger: PartsLog = quiet) {
  if (!signer) return loadFlowParts(config, logger);
  const keys = new GatewayKeys({ initial: { signer, identity: { keyDescription: 'PKCS#11 (signed by the event loop)', source: 'event loop', isSample: false, chainPems: [] } }, load: refuseTokenReload });
  return { ...loadSharedParts(config, logger), signer: keys.signer, keys };
}

/** How the gateway names itself in MessageMetadata. */
export const GATEWAY_SELF = Object.freeze({ mnemonic: 'okno', name: 'Okno — шлюз единого окна города' });
