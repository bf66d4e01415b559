/**
 * Which PKCS#11 mechanism signs for each kind of gateway key, and the GOST
 * constants pkcs11js does not carry (they are vendor-defined).
 *
 * Where the numbers come from:
 * - Standard PKCS#11 v2.40 values (CKK_GOSTR3410 0x30, CKM_GOSTR3410 0x1201,
 *   CKM_GOSTR3410_WITH_GOSTR3411 0x1202, CKM_SHA256_RSA_PKCS, CKM_ECDSA, …) are
 *   taken from pkcs11js itself; they match p11-kit's pkcs11.h
 *   (/usr/include/p11-kit-1/p11-kit/pkcs11.h on Debian).
 * - The TC26 (ТК 26) vendor-defined ones, which certified Russian tokens expose
 *   for GOST R 34.10-2012: Aktiv-Soft's (Rutoken) pkcs11jna,
 *   src/main/java/ru/rutoken/pkcs11jna/Pkcs11Tc26Constants.java ("derived from
 *   pkcs11tc26_12.h"), and Aladdin's (JaCarta) jcPKCS11t.h, which define the same
 *   values: NSSCK_VENDOR_PKCS11_RU_TEAM = 0xD4321000 (0x80000000 | 0x54321000),
 *   CKK_GOSTR3410_512 = |0x003, CKM_GOSTR3410_512 = |0x006,
 *   CKM_GOSTR3410_WITH_GOSTR3411_12_256 = |0x008, …_12_512 = |0x009.
 *
 * Byte order of GOST signatures: PKCS#11 (v2.30, "GOST R 34.10-2001" mechanisms,
 * which the TC26 2012 mechanisms follow) returns "the concatenation of the values
 * s and r', both represented as a 32 bytes octet string in big endian order with
 * the most significant byte first" (64 bytes per half for 512-bit keys) — exactly
 * XMLDSig's GOST SignatureValue (s ‖ r, big-endian; see src/crypto/gost3410.ts),
 * so the token's output is used as it is. The digest handed to CKM_GOSTR3410 /
 * CKM_GOSTR3410_512 is the Streebog output as the hash function produces it, the
 * same bytes a token's own CKM_GOSTR3411_12_* would return. None of the GOST paths
 * has run on a hardware token here: the start-up self-test (a signature the
 * certificate's key must verify) is what proves them on a real token.
 */
import type { KeyAlgorithm } from '../crypto/index.js';

/** pkcs11js' constants (standard PKCS#11 values), as far as they are used here. */
export interface StandardConstants {
  CKK_RSA: number;
  CKK_EC: number;
  CKK_GOSTR3410: number;
  CKM_SHA256_RSA_PKCS: number;
  CKM_RSA_PKCS: number;
  CKM_ECDSA: number;
  CKM_GOSTR3410: number;
}

/** NSSCK_VENDOR_PKCS11_RU_TEAM = CK_VENDOR_PKCS11_RU_TEAM_TC26 (Rutoken pkcs11jna Pkcs11Tc26Constants, JaCarta jcPKCS11t.h). */
export const CK_VENDOR_PKCS11_RU_TEAM_TC26 = 0xd4321000;
/** (CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x003): a GOST R 34.10-2012 512-bit key. */
export const CKK_GOSTR3410_512 = CK_VENDOR_PKCS11_RU_TEAM_TC26 + 0x003;
/** (CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x006): GOST R 34.10-2012 512 over a digest computed outside. */
export const CKM_GOSTR3410_512 = CK_VENDOR_PKCS11_RU_TEAM_TC26 + 0x006;
/** (CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x008): GOST R 34.10-2012 256 with Streebog-256 hashed on the token. */
export const CKM_GOSTR3410_WITH_GOSTR3411_12_256 = CK_VENDOR_PKCS11_RU_TEAM_TC26 + 0x008;
/** (CK_VENDOR_PKCS11_RU_TEAM_TC26 | 0x009): GOST R 34.10-2012 512 with Streebog-512 hashed on the token. */
export const CKM_GOSTR3410_WITH_GOSTR3411_12_512 = CK_VENDOR_PKCS11_RU_TEAM_TC26 + 0x009;

/** DER DigestInfo prefix for SHA-256 (RFC 8017, 9.2 note 1): CKM_RSA_PKCS signs prefix ‖ digest. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** How one mechanism turns SignedInfo into a signature. */
export interface SignPlan {
  mechanism: number;
  name: string;
  /** What the token is given: the data itself (the mechanism hashes) or a digest made here. */
  input: 'data' | { digest: 'sha256' | 'streebog256' | 'streebog512'; prefix?: Buffer };
}

export interface KeyPlans {
  /** CKA_KEY_TYPE values the private key object may have. */
  keyTypes: number[];
  /** In order of preference; the first the token lists in C_GetMechanismList is used. */
  plans: SignPlan[];
}

export function plansFor(algorithm: KeyAlgorithm, c: StandardConstants): KeyPlans | null {
  switch (algorithm) {
    case 'rsa':
      return {
        keyTypes: [c.CKK_RSA],
        plans: [
          { mechanism: c.CKM_SHA256_RSA_PKCS, name: 'CKM_SHA256_RSA_PKCS', input: 'data' },
          // Tokens that only do raw PKCS#1 v1.5: the DigestInfo is built here.
          { mechanism: c.CKM_RSA_PKCS, name: 'CKM_RSA_PKCS', input: { digest: 'sha256', prefix: SHA256_DIGEST_INFO } },
        ],
      };
    case 'ec-p256':
      // CKM_ECDSA signs a digest and returns r ‖ s (32 bytes each), which is what XMLDSig carries.
      return { keyTypes: [c.CKK_EC], plans: [{ mechanism: c.CKM_ECDSA, name: 'CKM_ECDSA', input: { digest: 'sha256' } }] };
    case 'gost2012-256':
      return {
        keyTypes: [c.CKK_GOSTR3410],
        plans: [
          { mechanism: CKM_GOSTR3410_WITH_GOSTR3411_12_256, name: 'CKM_GOSTR3410_WITH_GOSTR3411_12_256', input: 'data' },
          { mechanism: c.CKM_GOSTR3410, name: 'CKM_GOSTR3410', input: { digest: 'streebog256' } },
        ],
      };
    case 'gost2012-512':
      return {
        keyTypes: [CKK_GOSTR3410_512],
        plans: [
          { mechanism: CKM_GOSTR3410_WITH_GOSTR3411_12_512, name: 'CKM_GOSTR3410_WITH_GOSTR3411_12_512', input: 'data' },
          { mechanism: CKM_GOSTR3410_512, name: 'CKM_GOSTR3410_512', input: { digest: 'streebog512' } },
        ],
      };
    default:
      // GOST R 34.10-2001 may no longer sign; anything else has no XMLDSig algorithm here.
      return null;
  }
}
