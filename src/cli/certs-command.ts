import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeSamplePki } from '../pki/sample-pki.js';
import { writeGostSamplePki } from '../pki/sample-pki-gost.js';
import type { Command } from './command.js';

export const certsCommand: Command = {
  summary: 'make the sample PKI (test only) in certs-sample/: RSA, and GOST in certs-sample/gost/',
  usage: 'certs [--out DIR] [--years N] [--rsa-only | --gost-only]',
  async run(args) {
    let values: { out?: string; years?: string; 'rsa-only'?: boolean; 'gost-only'?: boolean };
    try {
      ({ values } = parseArgs({
        args,
        options: { out: { type: 'string' }, years: { type: 'string' }, 'rsa-only': { type: 'boolean' }, 'gost-only': { type: 'boolean' } },
        strict: true,
      }));
    } catch (error) {
      process.stderr.write(`okno certs: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    if (values['rsa-only'] && values['gost-only']) {
      process.stderr.write(`okno certs: --rsa-only and --gost-only exclude each other\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const years = values.years === undefined ? 20 : Number(values.years);
    if (!Number.isInteger(years) || years < 1 || years > 100) {
      process.stderr.write(`okno certs: --years must be a whole number from 1 to 100\n`);
      return 2;
    }
    const dir = path.resolve(values.out ?? 'certs-sample');
    // Each side replaces only its own files: --gost-only keeps the RSA keys (and whatever they signed).
    const files = [
      ...(values['gost-only'] ? [] : writeSamplePki(dir, { years })),
      ...(values['rsa-only'] ? [] : writeGostSamplePki(dir, { years })),
    ];
    process.stdout.write(`wrote ${files.length} files to ${dir} (TEST ONLY — never use these keys in production):\n`);
    for (const f of files) process.stdout.write(`  ${f}\n`);
    return 0;
  },
};
