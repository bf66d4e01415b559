/**
 * `okno send FILE.json --to URL`: the portal simulator. Turns a JSON
 * application ({ "service": "...", "content": { ... } }) into the service's
 * XML, wraps it in a SMEV SendRequest, signs it as the portal (sample keys by
 * default) and submits it; prints the gateway's reply and checks the reply's
 * signature.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../catalogue/load.js';
import type { JsonValue } from '../store/types.js';
import { splitPem } from '../pki/gateway-identity.js';
import { DSIG_NS } from '../signature/dsig.js';
import { signDocument, PROFILES, type SignatureProfile } from '../signature/sign.js';
import { TrustAnchorSet } from '../pki/trust.js';
import { verifySignature } from '../signature/verify.js';
import { sendRequestEnvelope } from '../soap/envelope-builder.js';
import { uuidV1 } from '../soap/message-id.js';
import { isSmevVersion } from '../soap/namespaces.js';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';
import { KEY_OPTION_NAMES, KEY_OPTION_SPEC, signerFromOptions } from './key-options.js';
import type { Command } from './command.js';

export const sendCommand: Command = {
  summary: 'submit a JSON application to a gateway as a signed SendRequest (the portal simulator)',
  usage: 'send FILE.json --to URL [--service ID] [--out FILE] [--dry-run] [--profile smev|xmldsig] [--version 1.1|1.2|1.3] [--message-id UUID] [--test] [--key K --cert C | --p12 F --password P]',
  async run(args) {
    let values: Record<string, string | boolean | undefined>;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          to: { type: 'string' },
          profile: { type: 'string' },
          version: { type: 'string' },
          'message-id': { type: 'string' },
          test: { type: 'boolean' },
          services: { type: 'string' },
          service: { type: 'string' },
          out: { type: 'string' },
          'dry-run': { type: 'boolean' },
          ...KEY_OPTION_SPEC,
        },
      }));
    } catch (error) {
      process.stderr.write(`okno send: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const profile = (values.profile ?? 'smev') as SignatureProfile;
    const version = (values.version as string | undefined) ?? '1.1';
    const dryRun = values['dry-run'] === true;
    const problem =
      positionals.length !== 1 ? 'expected one FILE.json'
      : typeof values.to !== 'string' && !dryRun ? '--to URL is required (or --dry-run)'
      : !PROFILES.includes(profile) ? `--profile must be one of: ${PROFILES.join(', ')}`
      : !isSmevVersion(version) ? '--version must be 1.1, 1.2 or 1.3'
      : null;
    if (problem || !isSmevVersion(version)) {
      process.stderr.write(`okno send: ${problem ?? 'bad --version'}\nusage: okno ${this.usage}\n(okno send --help for the options)\n`);
      return 2;
    }
    const file = positionals[0]!;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    } catch (error) {
      process.stderr.write(`okno send: cannot read ${file}: ${(error as Error).message}\n`);
      return 2;
    }
    const catalogue = loadCatalogue((values.services as string | undefined) ?? process.env.SERVICES_DIR ?? 'config/services');
    // Only what partners send the city makes sense here (not the city's own queries or statuses).
    const sendable = catalogue.services.filter((s) => s.direction === 'inbound');
    const input = inputOf(json, values.service as string | undefined, file, sendable.map((s) => s.id));
    const service = typeof input.service === 'string' ? sendable.find((s) => s.id === input.service) : undefined;
    if (!service) {
      process.stderr.write(`okno send: "service" must name one of: ${sendable.map((s) => s.id).join(', ')} (in the file, with --service ID, or by the example's folder config/services/<id>/)\n`);
      return 1;
    }
    if (input.from === 'folder') process.stderr.write(`okno send: service ${service.id} (from the folder of ${file})\n`);
    const errors = service.request.validateJson(input.content);
    if (errors.length > 0) {
      process.stderr.write(`okno send: the content does not fit service ${service.id}:\n${errors.map((e) => `  ${e.path}: ${e.message} (${e.rule})`).join('\n')}\n`);
      return 1;
    }
    const key = { key: 'certs-sample/portal.key.pem', cert: 'certs-sample/portal.crt.pem', ...stringsOf(values) };
    const signer = signerFromOptions(key);
    const messageId = (values['message-id'] as string | undefined) ?? uuidV1();
    const envelope = sendRequestEnvelope({ version, messageId, contentXml: service.request.toXml(input.content as JsonValue), test: values.test === true });
    const signed = await signDocument(envelope, { signer, profile });
    if (typeof values.out === 'string') {
      try {
        writeFileSync(values.out, signed);
      } catch (error) {
        process.stderr.write(`okno send: cannot write ${values.out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
        return 2;
      }
      process.stderr.write(`okno send: wrote the signed envelope (${Buffer.byteLength(signed)} bytes, MessageID ${messageId}) to ${values.out}\n`);
    }
    if (dryRun) {
      if (typeof values.out !== 'string') process.stdout.write(signed);
      process.stderr.write(`okno send: --dry-run: nothing sent\n`);
      return 0;
    }
    if (typeof values.to !== 'string') throw new Error('unreachable: --to is checked above');

    let res: Response;
    try {
      res = await fetch(values.to, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: 'urn:SendRequest' }, body: signed });
    } catch (error) {
      process.stderr.write(`okno send: cannot reach ${values.to}: ${(error as Error).message}\n`);
      return 1;
    }
    const body = await res.text();
    process.stdout.write(`MessageID ${messageId}\nHTTP ${res.status}\n${body}\n`);
    const summary = describeReply(body);
    process.stdout.write(`${summary}\n`);
    return res.status === 200 ? 0 : 1;
  },
};

/**
 * What to send: with --service the file is the content; a file with a "service" is
 * { service, content }; otherwise a service's example names its service by its folder
 * (config/services/<id>/example….json).
 */
export function inputOf(json: unknown, serviceOption: string | undefined, file: string, known: readonly string[]): { service?: unknown; content?: unknown; from: 'option' | 'file' | 'folder' } {
  if (serviceOption !== undefined) return { service: serviceOption, content: json, from: 'option' };
  const wrapped = json !== null && typeof json === 'object' && !Array.isArray(json) && 'service' in json && typeof (json as { service: unknown }).service === 'string';
  if (wrapped) return { ...(json as { service: unknown; content?: unknown }), from: 'file' };
  const folder = path.basename(path.dirname(path.resolve(file)));
  if (known.includes(folder)) return { service: folder, content: json, from: 'folder' };
  return { from: 'file' };
}

function stringsOf(values: Record<string, string | boolean | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEY_OPTION_NAMES) if (typeof values[k] === 'string') out[k] = values[k] as string;
  return out;
}

/** One line about the reply: its status or fault, and whether the gateway's signature checks out. */
function describeReply(body: string): string {
  let root: XmlElement;
  try {
    root = parseXml(body).root;
  } catch {
    return 'reply: not XML';
  }
  const find = (el: XmlElement, name: string): XmlElement | undefined => {
    const stack = [el];
    while (stack.length) {
      const e = stack.pop()!;
      if (e.localName === name) return e;
      stack.push(...childElements(e));
    }
    return undefined;
  };
  const fault = find(root, 'Fault');
  if (fault) {
    const detail = find(fault, 'detail');
    const kind = detail ? childElements(detail)[0]?.localName : undefined;
    return `reply: FAULT ${kind ?? ''} — ${textContent(find(fault, 'faultstring') ?? fault).trim()}`;
  }
  const status = find(root, 'Status');
  const signature = find(root, 'Signature');
  let verdict = 'unsigned';
  if (signature && signature.namespaceURI === DSIG_NS) {
    const doc = parseXml(body);
    const sig = find(doc.root, 'Signature')!;
    const trustFile = process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem';
    const v = verifySignature(doc, sig, null, { trust: new TrustAnchorSet(splitPem(readFileSync(trustFile, 'utf8'))) });
    verdict = v.valid ? `signed by "${v.details.certificate?.subject}" (valid)` : `signature ${v.math}: ${v.message}`;
  }
  return `reply: ${status ? textContent(status).trim() : 'ok'}; ${verdict}`;
}
