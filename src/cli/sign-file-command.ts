/**
 * `okno sign-file FILE`: a detached CMS (PKCS#7) signature over a file with the gateway's key
 * (or --key/--cert, --p12), through the same Signer as everything else (src/pki/cms/sign.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { signDetachedCms } from '../pki/cms/index.js';
import { pem } from '../pki/der-writer.js';
import { KEY_OPTION_SPEC, signerFromOptions } from './key-options.js';
import type { Command } from './command.js';

export const signFileCommand: Command = {
  summary: 'sign a file with a detached CMS (PKCS#7) signature',
  usage: 'sign-file FILE [--out SIG.p7s] [--pem] [--key K --cert C | --p12 F --password P]',
  async run(args) {
    let values: Record<string, string | boolean | undefined>;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' }, pem: { type: 'boolean' }, ...KEY_OPTION_SPEC } }));
    } catch (error) {
      process.stderr.write(`okno sign-file: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    if (positionals.length !== 1) {
      process.stderr.write(`usage: okno ${this.usage}\n`);
      return 2;
    }
    const file = positionals[0]!;
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch (error) {
      process.stderr.write(`okno sign-file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code}\n`);
      return 2;
    }
    const out = typeof values.out === 'string' ? values.out : `${file}.p7s`;
    try {
      const signer = signerFromOptions(values as Record<string, string | undefined>);
      const der = await signDetachedCms(content, signer);
      writeFileSync(out, values.pem ? pem('CMS', der) : der);
      process.stderr.write(`signed ${file} (${content.length} bytes) with ${signer.signatureAlgorithm.name} by "${signer.certificate.subject}": ${out}\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`okno sign-file: ${(error as Error).message}\n`);
      return 1;
    }
  },
};
