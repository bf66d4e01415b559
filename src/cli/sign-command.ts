import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PROFILES, signDocument, type SignatureProfile } from '../signature/sign.js';
import { KEY_OPTION_SPEC, signerFromOptions } from './key-options.js';
import type { Command } from './command.js';

export const signCommand: Command = {
  summary: 'sign an XML file (SMEV envelope or any element with an Id)',
  usage: 'sign FILE [--profile smev|xmldsig] [--id ID] [--key K --cert C | --p12 F --password P] [--out OUT]',
  async run(args) {
    let values: Record<string, string | undefined>;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { profile: { type: 'string' }, id: { type: 'string' }, out: { type: 'string' }, ...KEY_OPTION_SPEC },
      }));
    } catch (error) {
      process.stderr.write(`okno sign: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const profile = (values.profile ?? 'smev') as SignatureProfile;
    if (positionals.length !== 1 || !PROFILES.includes(profile)) {
      process.stderr.write(`usage: okno ${this.usage}\n`);
      return 2;
    }
    let xml: string;
    try {
      xml = readFileSync(positionals[0]!, 'utf8');
    } catch (error) {
      process.stderr.write(`okno sign: cannot read ${positionals[0]}: ${(error as NodeJS.ErrnoException).code}\n`);
      return 2;
    }
    try {
      const signer = signerFromOptions(values);
      const signed = await signDocument(xml, { signer, profile, targetId: values.id });
      if (values.out) writeFileSync(values.out, signed);
      else process.stdout.write(signed);
      process.stderr.write(`signed with ${signer.signatureAlgorithm.name} (${profile} profile) by "${signer.certificate.subject}"\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`okno sign: ${(error as Error).message}\n`);
      return 1;
    }
  },
};
