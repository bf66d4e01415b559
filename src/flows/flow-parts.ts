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
import { parseCertificate } from '../pki/certificate.js';
import { TrustAnchorSet } from '../signature/trust.js';

export function loadFlowParts(config: Config) {
  const { registry: partners, warnings } = loadPartners(config.partnersFile, { portalUrl: config.portalUrl });
  const catalogue = loadCatalogue(config.servicesDir);
  const lifecycle = Lifecycle.load(config.lifecycleFile);
  const identity = loadGatewayIdentity(config.gatewayKey);
  const trust = loadTrustAnchors(config.trustCaFile);
  // Read once here: the key lives only inside the signer, which was checked against the certificate.
  const signer = identity.signer;
  const anchorCertificates = trust.pems.map((pem) => parseCertificate(pem));
  const crls = loadCrls(config.crlFiles, anchorCertificates);
  const trustAnchors = new TrustAnchorSet(anchorCertificates, crls);
  return { partners, warnings, catalogue, lifecycle, identity, trust, signer, crls, trustAnchors };
}

/** How the gateway names itself in MessageMetadata. */
export const GATEWAY_SELF = Object.freeze({ mnemonic: 'okno', name: 'Okno — шлюз единого окна города' });

