/**
 * The revocation step of an inbound message, after its signatures, chain and
 * partner were accepted and before anything is stored: the partner's signing
 * certificate is asked about at its CA's OCSP responder (pki/ocsp-client.ts;
 * CRLs were already applied by the chain check, pki/trust.ts).
 *
 * The verdicts in the SMEV vocabulary (faults XSD 1.1):
 * - revoked → SignatureVerificationFault / CertificateIsExpired (SMEV has no
 *   "revoked"; the closest: no longer valid, the holder needs a new certificate),
 *   as a revoked entry of a CRL;
 * - unknown (the CA's responder does not know the certificate) →
 *   SignatureVerificationFault / CertificateIsNotFound;
 * - unavailable (responder down, unusable answer) → SMEVFailure: not the
 *   sender's fault, and the XSD tells the sender to retry — unless
 *   OCSP_ON_OUTAGE=accept, when the message goes on with a warning.
 */
import type { Partner } from '../registry/partners.js';
import type { RevocationVerdict } from '../pki/ocsp-client.js';
import type { SmevVerification } from '../signature/smev-profile.js';
import { SmevFault } from '../soap/faults.js';
import type { FlowContext } from './context.js';

/** SMEVFailure for a revocation status that could not be established: pull mode does not Ack it, so the exchange delivers it again. */
export class RevocationUnavailable extends SmevFault {
  constructor(message: string) {
    super('SMEVFailure', message);
  }
}

type Log = { warn(obj: object, msg: string): void };

export async function requireNotRevoked(ctx: FlowContext, verification: SmevVerification<Partner>, log: Log): Promise<RevocationVerdict | null> {
  const chain = verification.caller.trust?.chain ?? [];
  const leaf = chain[0];
  const issuer = chain[1];
  if (!ctx.revocation || !leaf || !issuer) return null;
  const verdict = await ctx.revocation.check(leaf, issuer, ctx.now());
  const who = `certificate "${leaf.subject}" (serial ${leaf.serialHex})`;
  switch (verdict.status) {
    case 'good':
    case 'skipped':
      return verdict;
    case 'revoked':
      throw new SmevFault('SignatureVerificationFault', `${who} was revoked on ${verdict.revokedAt}${verdict.reason ? ` (${verdict.reason})` : ''} (OCSP responder ${verdict.responder})`, {
        signatureReason: 'CertificateIsExpired',
      });
    case 'unknown':
      throw new SmevFault('SignatureVerificationFault', `the OCSP responder ${verdict.responder} of "${issuer.subject}" does not know ${who}; its revocation status could not be established`, {
        signatureReason: 'CertificateIsNotFound',
      });
    case 'unavailable':
      if (verdict.acceptedOnOutage) {
        log.warn({ responder: verdict.responder, problem: verdict.problem, serial: leaf.serialHex, revocation: 'accepted-on-outage' }, `revocation status of ${who} could not be established (${verdict.problem}); accepted because OCSP_ON_OUTAGE=accept`);
        return verdict;
      }
      throw new RevocationUnavailable(`the revocation status of ${who} could not be established: OCSP responder ${verdict.responder}: ${verdict.problem}; retry later`);
  }
}
