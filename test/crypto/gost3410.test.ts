import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AlgorithmError,
  CURVE_OIDS,
  GOST2001_URI,
  GOST2012_256_URI,
  GOST2012_512_URI,
  GOST_CURVES,
  findGostCurve,
  generateGostKeyPair,
  getSignatureAlgorithm,
  gostPrivateKey,
  gostPublicKey,
  gostPublicKeyOf,
  gostSignDigest,
  gostVerifyDigest,
  type GostCurve,
} from '../../src/crypto/index.js';
import { big, fromLe, le, mul } from './bigint-ec.js';

const curve = (oid: string): GostCurve => {
  const c = findGostCurve(oid);
  if (!c) throw new Error(oid);
  return c;
};

describe('curve tables', () => {
  it.each([...GOST_CURVES.values()].map((c) => [c.name, c] as const))('%s: base point on curve, order q', (_, c) => {
    const [p, a, b, q, x, y] = [c.p, c.a, c.b, c.q, c.x, c.y].map(big) as [bigint, bigint, bigint, bigint, bigint, bigint];
    expect((y * y - (x * x * x + a * x + b)) % p).toBe(0n);
    expect(mul(q, [x, y], p, a)).toBeNull();
    expect(c.size * 8).toBeGreaterThanOrEqual(q.toString(2).length);
  });
});

// RFC 7091 Appendix A (= GOST R 34.10-2012 examples). Numbers as printed there (big-endian);
// the engine takes the digest and keys little-endian and returns s ‖ r big-endian.
const rfc7091 = [
  {
    name: '256-bit example (A.1)',
    curve: CURVE_OIDS.test256,
    d: '7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28',
    e: '2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5',
    k: '77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3',
    r: '41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493',
    s: '01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40',
    qx: '7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B',
    qy: '26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA',
  },
  {
    name: '512-bit example (A.2)',
    curve: CURVE_OIDS.test512,
    d: '0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B102072E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4',
    e: '3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C5917184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C',
    k: '0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F365886748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1',
    r: '2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD35492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36',
    s: '1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A',
    qx: '115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1',
    qy: '37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC',
  },
];

describe('GOST R 34.10-2012, RFC 7091 examples', () => {
  it.each(rfc7091)('$name', (v) => {
    const c = curve(v.curve);
    const n = c.size;
    const algorithm = n === 64 ? 'gost2012-512' : 'gost2012-256';
    const priv = gostPrivateKey(algorithm, c.oid, le(big(v.d), n));
    const pub = gostPublicKeyOf(priv);
    expect(Buffer.from(pub.point).equals(Buffer.concat([le(big(v.qx), n), le(big(v.qy), n)]))).toBe(true);

    const digest = le(big(v.e), n);
    const sig = gostSignDigest(digest, c, priv.scalar, le(big(v.k), n));
    expect(sig.toString('hex').toUpperCase()).toBe(v.s + v.r); // s ‖ r, big-endian
    expect(gostVerifyDigest(digest, sig, c, pub.point)).toBe(true);

    const flipped = Buffer.from(sig);
    flipped[n + 5]! ^= 0x01;
    expect(gostVerifyDigest(digest, flipped, c, pub.point)).toBe(false);
    const otherDigest = Buffer.from(digest);
    otherDigest[0]! ^= 0x01;
    expect(gostVerifyDigest(otherDigest, sig, c, pub.point)).toBe(false);
    expect(gostVerifyDigest(digest, sig.subarray(1), c, pub.point)).toBe(false);
  });

  it('public-key derivation agrees with textbook arithmetic on TC26 curves', () => {
    for (const oid of [CURVE_OIDS.tc26_256A, CURVE_OIDS.tc26_512C]) {
      const c = curve(oid);
      const { privateKey, publicKey } = generateGostKeyPair(c.size === 64 ? 'gost2012-512' : 'gost2012-256', oid);
      const Q = mul(fromLe(privateKey.scalar), [big(c.x), big(c.y)], big(c.p), big(c.a));
      expect(Q).not.toBeNull();
      expect(Buffer.from(publicKey.point).equals(Buffer.concat([le(Q![0], c.size), le(Q![1], c.size)]))).toBe(true);
    }
  });
});

describe('GOST signatures by URI', () => {
  const cases = [
    [GOST2012_256_URI, 'gost2012-256', CURVE_OIDS.tc26_256A],
    [GOST2012_256_URI, 'gost2012-256', CURVE_OIDS.cryptoProA],
    [GOST2012_256_URI, 'gost2012-256', CURVE_OIDS.tc26_256B],
    [GOST2012_512_URI, 'gost2012-512', CURVE_OIDS.tc26_512A],
    [GOST2012_512_URI, 'gost2012-512', CURVE_OIDS.tc26_512B],
    [GOST2012_512_URI, 'gost2012-512', CURVE_OIDS.tc26_512C],
  ] as const;
  it.each(cases)('%s on %s / %s: sign, verify, tamper', (uri, keyAlg, curveOid) => {
    const alg = getSignatureAlgorithm(uri);
    const { privateKey, publicKey } = generateGostKeyPair(keyAlg, curveOid);
    const data = Buffer.from('<ds:SignedInfo>…</ds:SignedInfo>');
    const sig = alg.sign!(data, privateKey);
    expect(sig.length).toBe(2 * privateKey.curve.size);
    expect(alg.verify(data, sig, publicKey)).toBe(true);
    expect(alg.verify(Buffer.concat([data, Buffer.from(' ')]), sig, publicKey)).toBe(false);
    const other = generateGostKeyPair(keyAlg, curveOid).publicKey;
    expect(alg.verify(data, sig, other)).toBe(false);
    // signatures are randomised
    expect(alg.sign!(data, privateKey).equals(sig)).toBe(false);
  });

  // node-gost-crypto's invMod calls an undefined `subtract` for some e (this one among them),
  // which is why the curve arithmetic is our own; keep the input that exposed it.
  it('Streebog-256("data") signs and verifies (regression)', () => {
    const alg = getSignatureAlgorithm(GOST2012_256_URI);
    const { privateKey, publicKey } = generateGostKeyPair('gost2012-256', CURVE_OIDS.cryptoProA);
    for (let i = 0; i < 20; i++) expect(alg.verify(Buffer.from('data'), alg.sign!(Buffer.from('data'), privateKey), publicKey)).toBe(true);
  });

  it('many random digests round-trip', () => {
    const c = curve(CURVE_OIDS.cryptoProA);
    const { privateKey, publicKey } = generateGostKeyPair('gost2012-256', c.oid);
    for (let i = 0; i < 200; i++) {
      const digest = randomBytes(32);
      expect(gostVerifyDigest(digest, gostSignDigest(digest, c, privateKey.scalar), c, publicKey.point)).toBe(true);
    }
  });

  it('GOST R 34.10-2001 is verify-only', () => {
    const alg = getSignatureAlgorithm(GOST2001_URI);
    expect(alg.sign).toBeUndefined();
    expect(alg.keyAlgorithm).toBe('gost2001');
  });

  it('a key of the wrong kind is a typed error', () => {
    const alg = getSignatureAlgorithm(GOST2012_512_URI);
    const { publicKey } = generateGostKeyPair('gost2012-256', CURVE_OIDS.cryptoProA);
    expect(() => alg.verify(Buffer.from('x'), Buffer.alloc(128), publicKey)).toThrowError(
      expect.objectContaining({ code: 'KEY_MISMATCH' }),
    );
    expect(() => gostPublicKey('gost2012-512', CURVE_OIDS.cryptoProA, new Uint8Array(64))).toThrow(AlgorithmError);
    expect(() => gostPublicKey('gost2012-256', '1.2.3.4', new Uint8Array(64))).toThrow(/unknown GOST parameter set/);
  });

  it('garbage public key or signature fails, never throws', () => {
    const alg = getSignatureAlgorithm(GOST2012_256_URI);
    const junkKey = gostPublicKey('gost2012-256', CURVE_OIDS.cryptoProA, new Uint8Array(64).fill(7));
    expect(alg.verify(Buffer.from('x'), Buffer.alloc(64, 1), junkKey)).toBe(false);
    const { publicKey } = generateGostKeyPair('gost2012-256', CURVE_OIDS.cryptoProA);
    expect(alg.verify(Buffer.from('x'), Buffer.alloc(64), publicKey)).toBe(false);
    expect(alg.verify(Buffer.from('x'), Buffer.alloc(64, 0xff), publicKey)).toBe(false);
  });
});
