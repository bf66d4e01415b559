import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeSamplePki } from '../pki/sample-pki.js';
import type { Command } from './main.js';

export const certsCommand: Command = {
  summary: 'make the sample PKI (test only) in certs-sample/',
  usage: 'certs [--out DIR] [--years N]',
  async run(args) {
    let values: { out?: string; years?: string };
    try {
      ({ values } = parseArgs({ args, options: { out: { type: 'string' }, years: { type: 'string' } }, strict: true }));
    } catch (error) {
      process.stderr.write(`okno certs: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const years = values.years === undefined ? 20 : Number(values.years);
    if (!Number.isInteger(years) || years < 1 || years > 100) {
      process.stderr.write(`okno certs: --years must be a whole number from 1 to 100\n`);
      return 2;
    }
    const dir = path.resolve(values.out ?? 'certs-sample');
    const files = writeSamplePki(dir, { years });
    process.stdout.write(`wrote ${files.length} files to ${dir} (TEST ONLY — never use these keys in production):\n`);
    for (const f of files) process.stdout.write(`  ${f}\n`);
    return 0;
  },
};
