/**
 * A rough measure of the SMEV exchange simulator on loopback: sequential
 * SendRequest → GetRequest → Ack cycles (the portal and okno sign every
 * request, the exchange verifies each and signs its answers; RSA-2048 sample
 * keys), and MTOM decoding of one 5 MiB attachment. Every delivered message is
 * checked to be the one sent. Not a test: nothing is asserted about speed.
 *
 *   npx tsx bench/smev-exchange.ts [CYCLES]
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitPem } from '../src/pki/gateway-identity.js';
import { signDocument } from '../src/signature/sign.js';
import { LocalKeySigner } from '../src/pki/signer.js';
import { TrustAnchorSet } from '../src/pki/trust.js';
import { SmevExchangeSimulator } from '../src/simulators/smev-exchange.js';
import { ackEnvelope, SIGNED_CALLER_ID, sendRequestEnvelope } from '../src/soap/envelope-builder.js';
import { pollEnvelope } from '../src/soap/exchange-envelopes.js';
import { uuidV1 } from '../src/soap/message-id.js';
import { buildMtom, decodeSoapBody, resolveXop, xopInclude } from '../src/soap/mtom.js';
import { readSmevMessage } from '../src/soap/smev-message.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const pem = (name: string) => readFileSync(path.join(root, 'certs-sample', name), 'utf8');
const signer = (name: string) => new LocalKeySigner(createPrivateKey(pem(`${name}.key.pem`)), pem(`${name}.crt.pem`));
const NS = 'urn://okno/bench/exchange/1.0.0';
const cycles = Number(process.argv[2] ?? 200);

const sim = await SmevExchangeSimulator.start({
  trust: new TrustAnchorSet(splitPem(pem('ca.crt.pem'))),
  signer: signer('agency'), // any sample key will do for a measurement
  systems: [
    { mnemonic: 'portal', certificatePem: pem('portal.crt.pem') },
    { mnemonic: 'okno', certificatePem: pem('gateway.crt.pem'), provides: [NS] },
  ],
});
const portal = signer('portal');
const okno = signer('gateway');
const post = async (body: string, action: string) => {
  const r = await fetch(sim.endpoint, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: action }, body });
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) };
};

try {
  const started = performance.now();
  for (let i = 0; i < cycles; i++) {
    const id = uuidV1();
    const sent = await post(await signDocument(sendRequestEnvelope({ version: '1.1', messageId: id, contentXml: `<b:R xmlns:b="${NS}"><b:N>${i}</b:N></b:R>` }), { signer: portal, profile: 'smev' }), 'urn:SendRequest');
    const got = await post(await signDocument(pollEnvelope('GetRequest', '1.1', new Date()), { signer: okno, profile: 'smev', targetId: SIGNED_CALLER_ID }), 'urn:GetRequest');
    const acked = await post(await signDocument(ackEnvelope('1.1', id, true), { signer: okno, profile: 'smev', targetId: SIGNED_CALLER_ID }), 'urn:Ack');
    if (sent.status !== 200 || acked.status !== 200 || readSmevMessage(got.body, got.contentType).messageId !== id) throw new Error(`cycle ${i}: not delivered as sent`);
  }
  const ms = performance.now() - started;
  const big = Buffer.alloc(5 * 1024 * 1024, 7);
  const mtom = buildMtom(`<r><c>${xopInclude('big@bench')}</c></r>`, [{ contentId: 'big@bench', contentType: 'application/octet-stream', bytes: big }]);
  const t = performance.now();
  for (let i = 0; i < 10; i++) {
    const d = decodeSoapBody(mtom.body, mtom.contentType);
    resolveXop(d.rootXml, d.parts);
  }
  const mtomMs = (performance.now() - t) / 10;
  process.stdout.write(
    `${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}\n` +
      `${cycles} SendRequest+GetRequest+Ack cycles: ${(ms / cycles).toFixed(1)} ms per cycle, ${((cycles * 3) / (ms / 1000)).toFixed(0)} requests/s (sequential)\n` +
      `MTOM, one 5 MiB attachment: decode + xop:Include resolve ${mtomMs.toFixed(1)} ms\n`,
  );
} finally {
  await sim.close();
}
