/**
 * The parts a flow context is made of, read from the configuration's files:
 * the gateway (gateway.ts) and each large-message lane thread
 * (soap/large-message-worker.ts) load them the same way, once.
 */
import type { Config } from '../config/env.js';
import { loadPartners } from '../config/partners.js';
import { loadCatalogue } from '../catalogue/load.js';
import { Lifecycle } from '../city/lifecycle.js';
import { loadGatewayIdentity } from '../pki/gateway-identity.js';
import { loadTrustAnchors } from '../pki/trust-anchors.js';
import { loadCrls } from '../pki/crl.js';
import { CrlSet, distributionPoints } from '../pki/crl-set.js';
import type { Logger } from '../log.js';
import { TrustAnchorSet } from '../signature/trust.js';

/** A CRL can be megabytes: more time than an OCSP answer. */
const CRL_DOWNLOAD_TIMEOUT_MS = 30_000;

const quiet = { info() {}, warn() {} };

export function loadFlowParts(config: Config, logger: Pick<Logger, 'info' | 'warn'> = quiet) {
  const { registry: partners, warnings } = loadPartners(config.partnersFile, { portalUrl: config.portalUrl });
  const catalogue = loadCatalogue(config.servicesDir);
  const lifecycle = Lifecycle.load(config.lifecycleFile);
  const identity = loadGatewayIdentity(config.gatewayKey);
  const trust = loadTrustAnchors(config.trustCaFile);
  // Read once here: the key lives only inside the signer, which was checked against the certificate.
  const signer = identity.signer;
  const anchorCertificates = trust.certificates;
  const crls = loadCrls(config.crlFiles, anchorCertificates);
  const { revocation } = config;
  const registered = [...partners.partners, ...partners.exchanges].flatMap((p) => p.certificates.map((c) => c.certificate));
  const urls = [...new Set([...(revocation.crlDownload ? distributionPoints([...registered, ...anchorCertificates]) : []), ...revocation.crlUrls])];
  // Refreshed by the gateway's event loop (start()); a lane thread's set is handed the event loop's CRLs instead.
  const crlSet = new CrlSet({ anchors: anchorCertificates, files: crls, urls, intervalMs: revocation.crlRefreshIntervalMs, timeoutMs: CRL_DOWNLOAD_TIMEOUT_MS, logger });
  const trustAnchors = new TrustAnchorSet(anchorCertificates, crlSet);
  return { partners, warnings, catalogue, lifecycle, identity, trust, signer, crls, crlSet, trustAnchors };
}

/** How the gateway names itself in MessageMetadata. */
export const GATEWAY_SELF = Object.freeze({ mnemonic: 'okno', name: 'Okno — шлюз единого окна города' });

