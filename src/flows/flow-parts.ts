/**
 * The parts a flow context is made of, read from the configuration's files:
 * the gateway (gateway.ts) and each large-message lane thread
 * (soap/large-message-worker.ts) load them the same way, once.
 */
import type { Config } from '../config/env.js';
import { loadPartners } from '../config/partners.js';
import { loadCatalogue } from '../catalogue/load.js';
import { Lifecycle } from '../city/lifecycle.js';
import { loadGatewayIdentity, type GatewayIdentity } from '../pki/gateway-identity.js';
import { GatewayKeys } from '../pki/gateway-keys.js';
import { loadTrustAnchors } from '../pki/trust-anchors.js';
import { loadCrls } from '../pki/crl.js';
import { parseCertificate } from '../pki/certificate.js';
import { LocalKeySigner, type Signer } from '../signature/signer.js';
import { TrustAnchorSet } from '../signature/trust.js';

export function loadFlowParts(config: Config) {
  const { registry: partners, warnings } = loadPartners(config.partnersFile, { portalUrl: config.portalUrl });
  const catalogue = loadCatalogue(config.servicesDir);
  const lifecycle = Lifecycle.load(config.lifecycleFile);
  const initialKey = loadGatewayKey(config);
  const identity = initialKey.identity;
  const trust = loadTrustAnchors(config.trustCaFile);
  const anchorCertificates = trust.pems.map((pem) => parseCertificate(pem));
  const crls = loadCrls(config.crlFiles, anchorCertificates);
  const trustAnchors = new TrustAnchorSet(anchorCertificates, crls);
  // The key can be replaced while running (renewal): everything signs through keys.signer.
  const keys = new GatewayKeys({ initial: initialKey, load: () => loadGatewayKey(config), trustAnchors, refuseSample: config.production && !config.allow.sampleKeys });
  const signer = keys.signer;
  return { partners, warnings, catalogue, lifecycle, identity, trust, signer, keys, crls, trustAnchors };
}

/** The gateway's key and certificate as configured: start-up and every reload read them this way. */
export function loadGatewayKey(config: Config): { signer: Signer; identity: GatewayIdentity } {
  const identity = loadGatewayIdentity(config.gatewayKey);
  // Parsed once here: the signer checks the key fits its certificate and picks the algorithm.
  return { identity, signer: new LocalKeySigner(identity.privateKey, identity.certificatePem) };
}

/** How the gateway names itself in MessageMetadata. */
export const GATEWAY_SELF = Object.freeze({ mnemonic: 'okno', name: 'Okno — шлюз единого окна города' });
