/**
 * The information systems the SMEV exchange simulator registers by default
 * (`okno simulate smev`), from the service catalogue and the sample PKI:
 * - okno (the city's gateway, certs-sample/gateway): provides the request
 *   types of the inbound services (applications and queries the city answers);
 * - agency (certs-sample/agency): provides the outbound queries (egrn-extract,
 *   zags-birth-record, egrul-extract);
 * - portal (certs-sample/portal): provides the ELK status messages
 *   (elk-order-status) and sends the applications.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ServiceCatalogue } from '../catalogue/types.js';
import type { ExchangeSystem } from './smev-exchange.js';

export function defaultExchangeSystems(catalogue: ServiceCatalogue, certsDir = 'certs-sample'): ExchangeSystem[] {
  const namespaces = (pick: (kind: string, direction: string) => boolean): string[] => [
    ...new Set(catalogue.services.filter((s) => pick(s.kind, s.direction)).map((s) => s.request.namespace)),
  ];
  const cert = (name: string) => readFileSync(path.join(certsDir, `${name}.crt.pem`), 'utf8');
  return [
    { mnemonic: 'okno', name: 'Окно (шлюз города)', certificatePem: cert('gateway'), provides: namespaces((_, d) => d === 'inbound') },
    { mnemonic: 'agency', name: 'Ведомство (симулятор)', certificatePem: cert('agency'), provides: namespaces((k, d) => k === 'query' && d === 'outbound') },
    { mnemonic: 'portal', name: 'ЕПГУ (симулятор)', certificatePem: cert('portal'), provides: namespaces((k) => k === 'status') },
  ];
}

/**
 * `MNEMONIC=CERT.pem[:NS1,NS2…]` (the CLI's --system): a system to register
 * in addition to (or instead of, same mnemonic) the defaults.
 */
export function parseSystemOption(value: string): ExchangeSystem {
  const m = /^([A-Za-z0-9_.-]{1,100})=([^:]+)(?::(.+))?$/.exec(value);
  if (!m) throw new Error(`--system takes MNEMONIC=CERT.pem[:NAMESPACE,…], not "${value}"`);
  return { mnemonic: m[1]!, certificatePem: readFileSync(m[2]!, 'utf8'), provides: m[3] ? m[3].split(',').filter(Boolean) : [] };
}
