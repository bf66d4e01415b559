/**
 * The baseline: the same operation as Okno's SendRequest, written the way most
 * Node developers would write it with the popular libraries.
 *
 * - node-soap's server (`soap.listen`) on the official WSDL (wsdl/1.1);
 * - the raw envelope is captured through the server's `log` hook ('received'
 *   hands over the XML text and the request) because the handler only gets
 *   node-soap's parsed objects, and a signature must be checked on the bytes;
 * - xml-crypto as its README shows: xmldom + xpath to find the ds:Signature in
 *   CallerInformationSystemSignature, `new SignedXml({ publicCert })`,
 *   `loadSignature`, `checkSignature` against the portal certificate
 *   (no certificate chain, no partner registry, no XSD validation);
 * - fast-xml-parser for MessageID and the content;
 * - ioredis: SET of the message as JSON and RPUSH onto an inbox list, two
 *   commands, no transaction, no idempotency;
 * - the reply, SendRequestResponse with MessageMetadata Id="SIGNED_BY_SMEV",
 *   serialized by node-soap and signed with xml-crypto `computeSignature` (the
 *   gateway's key, exc-c14n, RSA-SHA256) into SMEVSignature from the server's
 *   'response' event, where node-soap hands over the reply XML.
 *
 *   tsx bench/baseline/server.ts      env: PORT, REDIS_URL, WORKERS (node:cluster, default 1)
 *
 * Prints "baseline listening on <url>" when ready (each worker).
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOMParser } from '@xmldom/xmldom';
import { XMLParser } from 'fast-xml-parser';
import { Redis } from 'ioredis';
import * as soap from 'soap';
import { SignedXml } from 'xml-crypto';
import xpath from 'xpath';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const port = Number(process.env.PORT ?? 8090);
const workers = Math.max(1, Number(process.env.WORKERS ?? 1));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (!shuttingDown) console.error(`baseline worker ${worker.process.pid} exited (${signal ?? code})`);
  });
  let shuttingDown = false;
  const stop = () => {
    shuttingDown = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await serve();
}

async function serve(): Promise<void> {
  const portalCert = readFileSync(path.join(root, 'certs-sample/portal.crt.pem'), 'utf8');
  const gatewayKey = readFileSync(path.join(root, 'certs-sample/gateway.key.pem'), 'utf8');
  const gatewayCert = readFileSync(path.join(root, 'certs-sample/gateway.crt.pem'), 'utf8');
  const wsdlPath = path.join(root, 'wsdl/1.1/smev-message-exchange-1.1.wsdl');
  const redis = new Redis(redisUrl);
  const parser = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true });

  function verify(xml: string): boolean {
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const found = xpath.select(
      "//*[local-name(.)='CallerInformationSystemSignature']/*[local-name(.)='Signature' and namespace-uri(.)='http://www.w3.org/2000/09/xmldsig#']",
      doc as never,
    );
    const signature = Array.isArray(found) ? found[0] : undefined;
    if (!signature) return false;
    const sig = new SignedXml({ publicCert: portalCert });
    sig.loadSignature(signature as never);
    try {
      return sig.checkSignature(xml);
    } catch {
      return false;
    }
  }

  function signReply(xml: string): string {
    const sig = new SignedXml({
      privateKey: gatewayKey,
      publicCert: gatewayCert,
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    });
    sig.addReference({
      xpath: "//*[local-name(.)='MessageMetadata']",
      transforms: ['http://www.w3.org/2001/10/xml-exc-c14n#'],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    sig.computeSignature(xml, { location: { reference: "//*[local-name(.)='SMEVSignature']", action: 'append' } });
    return sig.getSignedXml();
  }

  const fault = (text: string) => ({ Fault: { faultcode: 'soap:Client', faultstring: text, statusCode: 500 } });

  const service = {
    SmevMessageExchangeService: {
      SmevMessageExchangeServiceHttpSoap11Endpoint: {
        async SendRequest(_args: unknown, _cb: unknown, _headers: unknown, req: http.IncomingMessage & { rawXml?: string }) {
          const xml = req.rawXml;
          if (!xml || !verify(xml)) throw fault('SignatureVerificationFault: the signature is not valid');
          const parsed = parser.parse(xml) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
          const data = parsed.Envelope?.Body?.SendRequestRequest?.SenderProvidedRequestData;
          const messageId = String(data?.MessageID ?? '');
          if (!messageId) throw fault('InvalidContent: no MessageID');
          const id = randomUUID();
          const receivedAt = new Date().toISOString();
          await redis.set(`baseline:msg:${id}`, JSON.stringify({ id, messageId, receivedAt, content: data.MessagePrimaryContent }));
          await redis.rpush('baseline:inbox', id);
          return {
            MessageMetadata: {
              attributes: { Id: 'SIGNED_BY_SMEV' },
              MessageId: messageId,
              MessageType: 'REQUEST',
              Sender: { Mnemonic: 'portal', HumanReadableName: 'Единый портал государственных услуг (тестовый)' },
              SendingTimestamp: receivedAt,
              DestinationName: 'okno',
              Recipient: { Mnemonic: 'okno', HumanReadableName: 'Okno baseline' },
              SupplementaryData: { DetectedContentTypeName: 'dwelling-replanning', InteractionType: 'PGU2OIV' },
              Status: 'requestIsQueued',
            },
            SMEVSignature: {},
          };
        },
      },
    },
  };

  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  server.keepAliveTimeout = 65_000;
  const soapServer = soap.listen(server, { path: '/ws/smev3', services: service, xml: readFileSync(wsdlPath, 'utf8'), uri: wsdlPath });
  soapServer.log = (type: string, data: unknown, req: unknown) => {
    if (type === 'received') (req as { rawXml?: string }).rawXml = data as string;
  };
  soapServer.on('response', (response: { result: string }, methodName: string) => {
    if (methodName === 'SendRequest' && response.result.includes('SMEVSignature')) response.result = signReply(response.result);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  console.log(`baseline listening on http://127.0.0.1:${port} (pid ${process.pid})`);
  const stop = () => {
    server.close();
    redis.disconnect();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
