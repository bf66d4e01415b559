// Just the part of node-gost-crypto (CommonJS, untyped) that gost-engine.ts uses.
declare module 'node-gost-crypto' {
  type Bytes = ArrayBuffer | ArrayBufferView;

  export interface GostDigestEngine {
    digest(data: Bytes): ArrayBuffer;
  }

  export interface GostSignEngine {
    sign(privateKey: Bytes, data: Bytes): ArrayBuffer;
    verify(publicKey: Bytes, signature: Bytes, data: Bytes): boolean;
    generateKey(): { privateKey: ArrayBuffer; publicKey: ArrayBuffer };
  }

  export const gostEngine: {
    getGostDigest(algorithm: Record<string, unknown>): GostDigestEngine;
    getGostSign(algorithm: Record<string, unknown>): GostSignEngine;
  };
}
