/** The part of s3rver (npm, no bundled types) the file store simulator uses. */
declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    configureBuckets?: Array<{ name: string; configs: Array<string | Buffer> }>;
    allowMismatchedSignatures?: boolean;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    /** Resolves with the HTTP server's address. */
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
