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
import type { Pkcs11Log } from '../pki/pkcs11-signer.js';
import { loadTrustAnchors } from '../pki/trust-anchors.js';
import { loadCrls } from '../pki/crl.js';
import { parseCertificate } from '../pki/certificate.js';
import type { Signer } from '../signature/signer.js';
import { TrustAnchorSet } from '../signature/trust.js';

/** Everything but the signing key. */
function loadSharedParts(config: Config) {
  const { registry: partners, warnings } = loadPartners(config.partnersFile, { portalUrl: config.portalUrl });
  const catalogue = loadCatalogue(config.servicesDir);
  const lifecycle = Lifecycle.load(config.lifecycleFile);
  const trust = loadTrustAnchors(config.trustCaFile);
  const anchorCertificates = trust.pems.map((pem) => parseCertificate(pem));
  const crls = loadCrls(config.crlFiles, anchorCertificates);
  const trustAnchors = new TrustAnchorSet(anchorCertificates, crls);
  return { partners, warnings, catalogue, lifecycle, trust, crls, trustAnchors };
}

/** The gateway's parts, its signing identity included (a token is opened here; `log` hears of its outages). */
export function loadFlowParts(config: Config, log?: Pkcs11Log) {
  const identity = loadGatewayIdentity(config.gatewayKey, log);
  return { ...loadSharedParts(config), identity, signer: identity.signer };
}

/**
 * A lane thread's parts. With a key held in the process (files) the thread loads
 * and signs with it itself; with a PKCS#11 token it is given a signer that asks
 * the event loop to sign (one token session per process, see pkcs11-signer.ts).
 */
export function loadLaneFlowParts(config: Config, signer: Signer | null) {
  if (!signer) return loadFlowParts(config);
  return { ...loadSharedParts(config), signer };
}

/** How the gateway names itself in MessageMetadata. */
export const GATEWAY_SELF = Object.freeze({ mnemonic: 'okno', name: 'Okno — шлюз единого окна города' });
