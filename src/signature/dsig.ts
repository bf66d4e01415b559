/** XMLDSig names the engine reads and writes. */
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

/**
 * The SMEV fault vocabulary for signature problems (faults XSD,
 * SignatureVerificationFault). Every rejection carries one of these plus a
 * precise `detail` for logs and operators.
 */
export type SignatureFaultReason =
  | 'PoorSOAPEnvelopeFormat'
  | 'NoSignatureFound'
  | 'IncorrectSignatureTarget'
  | 'SignatureIsInvalid'
  | 'CertificateIsNotFound'
  | 'CertificateIsExpired';

export class SignatureFailure extends Error {
  constructor(
    readonly reason: SignatureFaultReason,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureFailure';
  }
}

export const fail = (reason: SignatureFaultReason, message: string): never => {
  throw new SignatureFailure(reason, message);
};
