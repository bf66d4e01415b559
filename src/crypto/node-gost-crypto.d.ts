// Just the part of node-gost-crypto (CommonJS, untyped) that gost-engine.ts uses.
declare module 'node-gost-crypto' {
  type Bytes = ArrayBuffer | ArrayBufferView;

  export interface GostDigestEngine {
    digest(data: Bytes): ArrayBuffer;
  }

  export interface GostCipherEngine {
    decrypt(key: Bytes, data: Bytes, iv?: Bytes): ArrayBuffer;
  }

  export const gostEngine: {
    getGostDigest(algorithm: Record<string, unknown>): GostDigestEngine;
    getGostCipher(algorithm: Record<string, unknown>): GostCipherEngine;
  };
}
