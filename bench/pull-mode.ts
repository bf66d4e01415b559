/**
 * A rough measure of pull mode on loopback: the portal puts N applications in
 * the SMEV exchange simulator, the gateway (in this process, in-memory store,
 * or Redis with REDIS_URL) takes each with GetRequest, verifies both
 * signatures, stores it and acks it. Reports how long until all are acked and
 * the per-message time from SendRequest to Ack. Not a test: nothing is
 * asserted about speed; the machine's load is printed with the figures.
 *
 *   npx tsx bench/pull-mode.ts [N]          (PULL_CONCURRENCY=4 … to compare)
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalogue } from '../src/catalogue/load.js';
import { loadConfig } from '../src/config/env.js';
import { createGateway } from '../src/gateway.js';
import { createLogger } from '../src/log.js';
import { issueLeafCertificate } from '../src/pki/sample-pki.js';
import { splitPem } from '../src/pki/gateway-identity.js';
import { signDocument } from '../src/signature/sign.js';
import { LocalKeySigner } from '../src/pki/signer.js';
import { TrustAnchorSet } from '../src/pki/trust.js';
import { SmevExchangeSimulator } from '../src/simulators/smev-exchange.js';
import { defaultExchangeSystems } from '../src/simulators/smev-exchange-systems.js';
import { sendRequestEnvelope } from '../src/soap/envelope-builder.js';
import { uuidV1 } from '../src/soap/message-id.js';
import { writePullRegistry } from '../test/helpers/pull.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const pem = (name: string) => readFileSync(path.join(root, 'certs-sample', name), 'utf8');
const n = Number(process.argv[2] ?? 100);

const catalogue = loadCatalogue(path.join(root, 'config/services'));
const exchangeId = issueLeafCertificate({ caCertPem: pem('ca.crt.pem'), caKeyPem: pem('ca.key.pem'), commonName: 'smev-exchange-bench' });
const sim = await SmevExchangeSimulator.start({
  trust: new TrustAnchorSet(splitPem(pem('ca.crt.pem'))),
  signer: new LocalKeySigner(createPrivateKey(exchangeId.keyPem), exchangeId.certPem),
  systems: defaultExchangeSystems(catalogue, path.join(root, 'certs-sample')),
});
const config = loadConfig(
  { PORT: '0', LOG_LEVEL: 'warn', PARTNERS_FILE: writePullRegistry(sim.endpoint, exchangeId.certPem), PULL_INTERVAL_MS: '50', PULL_MAX_INTERVAL_MS: '200', PULL_CONCURRENCY: process.env.PULL_CONCURRENCY ?? '1', ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) },
  root,
);
const gateway = await createGateway(config, createLogger({ level: 'warn' }));
await gateway.listen();

const portal = new LocalKeySigner(createPrivateKey(pem('portal.key.pem')), pem('portal.crt.pem'));
const service = catalogue.get('kindergarten-enrollment')!;
const example = JSON.parse(readFileSync(path.join(root, 'config/services/kindergarten-enrollment/example.request.json'), 'utf8'));
const contentXml = service.request.toXml(example);
// Signed beforehand: the measure is the gateway's side, not the portal's signing.
const envelopes = await Promise.all(Array.from({ length: n }, async () => {
  const messageId = uuidV1();
  return { messageId, xml: await signDocument(sendRequestEnvelope({ version: '1.1', messageId, contentXml }), { signer: portal, profile: 'smev' }) };
}));

const sentAt = new Map<string, number>();
const started = performance.now();
for (const e of envelopes) {
  sentAt.set(e.messageId, performance.now());
  const res = await fetch(sim.endpoint, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: 'urn:SendRequest' }, body: e.xml });
  if (res.status !== 200) throw new Error(`SendRequest: HTTP ${res.status}`);
  await res.arrayBuffer();
}
await sim.waitFor((s) => envelopes.every((e) => s.message(e.messageId)?.state === 'acked'), 600_000);
const total = performance.now() - started;
const latencies = envelopes.map((e) => sim.message(e.messageId)!.ackedAt!.getTime() - (performance.timeOrigin + sentAt.get(e.messageId)!)).sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(0);
process.stdout.write(
  `pull mode, ${n} applications, store ${config.redisUrl ? 'redis' : 'memory'}, PULL_CONCURRENCY ${config.pull.concurrency}: all acked in ${(total / 1000).toFixed(1)} s (${((n * 1000) / total).toFixed(1)} msg/s); ` +
    `SendRequest → Ack p50 ${pct(50)} ms, p95 ${pct(95)} ms; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores\n`,
);
await gateway.close();
await sim.close();
