/**
 * `okno simulate portal`: runs the portal's SMEV endpoint for ELK statuses
 * (src/simulators/portal.ts) in the foreground, for the README walk-through
 * and partners' integration testing. The default port is the portal's
 * endpoint in config/partners.json (http://127.0.0.1:8091/ws/smev3), so a
 * gateway started with the shipped configuration delivers to it as is.
 * Prints one line per status received; stops on Ctrl-C (SIGINT) or SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../catalogue/load.js';
import { parseCertificate } from '../pki/certificate.js';
import { splitPem } from '../pki/gateway-identity.js';
import { TrustAnchorSet } from '../signature/trust.js';
import { PortalSimulator, type ReceivedStatus } from '../simulators/portal.js';
import { KEY_OPTION_SPEC, signerFromOptions } from './key-options.js';
import type { Command } from './main.js';

const DEFAULT_PORT = 8091;

/** One line per status entry: when, create/update, order number, ELK code, status date, comment. */
export function statusLines(s: ReceivedStatus): string[] {
  return s.orders.flatMap((o) =>
    o.statusHistory.map((h) =>
      [s.receivedAt.toISOString(), s.kind, `order ${o.orderNumber}`, `status ${h.status}`, h.statusDate, h.statusComment ?? '—'].join('  '),
    ),
  );
}

export const simulateCommand: Command = {
  summary: 'run a simulated partner: the portal receiving ELK statuses (signed, idempotent)',
  usage: 'simulate portal [--port 8091] [--trust CA.pem] [--expect-cert GATEWAY.crt.pem] [--key K --cert C]',
  async run(args) {
    let values: Record<string, string | boolean | undefined>;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          port: { type: 'string' },
          trust: { type: 'string' },
          'expect-cert': { type: 'string' },
          services: { type: 'string' },
          ...KEY_OPTION_SPEC,
        },
      }));
    } catch (error) {
      process.stderr.write(`okno simulate: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
    if (positionals.length !== 1 || positionals[0] !== 'portal' || !Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`usage: okno ${this.usage}\n`);
      return 2;
    }

    let sim: PortalSimulator;
    try {
      const trustFile = (values.trust as string | undefined) ?? process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem';
      const anchors = splitPem(readFileSync(trustFile, 'utf8'));
      if (anchors.length === 0) throw new Error(`${trustFile} holds no PEM certificate`);
      const trust = new TrustAnchorSet(anchors);
      const expectCert = values['expect-cert'] as string | undefined;
      const expectedSigner = expectCert ? parseCertificate(readFileSync(expectCert, 'utf8')).fingerprintSha256 : undefined;
      // The portal's own key signs its replies (the sample portal key by default, not the gateway's).
      const signer = signerFromOptions({
        ...(values as Record<string, string | undefined>),
        key: (values.key as string | undefined) ?? 'certs-sample/portal.key.pem',
        cert: (values.cert as string | undefined) ?? 'certs-sample/portal.crt.pem',
      });
      const catalogue = loadCatalogue((values.services as string | undefined) ?? process.env.SERVICES_DIR ?? 'config/services');
      sim = await PortalSimulator.start({
        port,
        trust,
        expectedSigner,
        signer,
        catalogue,
        onStatus: (s) => process.stdout.write(statusLines(s).map((l) => `${l}\n`).join('')),
        onDuplicate: (id) => process.stdout.write(`${new Date().toISOString()}  duplicate ${id}: answered with the first reply, not recorded again\n`),
        onRefused: (what, message) => process.stderr.write(`${new Date().toISOString()}  refused: ${what}: ${message}\n`),
      });
    } catch (error) {
      process.stderr.write(`okno simulate: ${(error as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`portal simulator listening on ${sim.endpoint}${values['expect-cert'] ? ` (only ${String(values['expect-cert'])})` : ''}; Ctrl-C to stop\n`);

    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await sim.close();
    process.stdout.write(`portal simulator stopped: ${sim.statuses().length} status messages, ${sim.duplicates} duplicates\n`);
    return 0;
  },
};
