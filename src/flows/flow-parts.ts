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
import { LocalKeySigner } from '../signature/signer.js';
import { TrustAnchorSet } from '../signature/trust.js';

export function loadFlowParts(config: Config) {
  const { registry: partners, warnings } = loadPartners(config.partnersFile, { portalUrl: config.portalUrl });
  const catalogue = loadCatalogue(config.servicesDir);
  const lifecycle = Lifecycle.load(config.lifecycleFile);
  const identity = loadGatewayIdentity(config.gatewayKey);
  const trust = loadTrustAnchors(config.trustCaFile);
  // Parsed once here: the signer checks the key fits its certificate and picks the algorithm.
  const signer = new LocalKeySigner(identity.privateKey, identity.certificatePem);
  const crls = loadCrls(config.crlFiles, trust.certificates);
  const trustAnchors = new TrustAnchorSet(trust.certificates, crls);
  return { partners, warnings, catalogue, lifecycle, identity, trust, signer, crls, trustAnchors };
}

/** How the gateway names itself in MessageMetadata. */
export const GATEWAY_SELF = Object.freeze({ mnemonic: 'okno', name: 'Okno — шлюз единого окна города' });

