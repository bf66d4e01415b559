/**
 * A Security Server as the consumer side sees it, for delivery tests: a real
 * HTTP server on loopback that records every request (method, path, headers,
 * body) and answers each as the test says — a status and body, or no answer
 * at all (to run into the client's timeout). Not the simulator (okno simulate
 * xroad forwards to a provider); this one plays the provider's answers itself.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type DoubleAnswer = { status: number; headers?: Record<string, string>; body: string } | 'hang';
export type DoubleHandler = (request: RecordedRequest, index: number) => DoubleAnswer;

export class SecurityServerDouble {
  readonly requests: RecordedRequest[] = [];
  handler: DoubleHandler = () => ({ status: 500, body: 'no handler' });
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<SecurityServerDouble> {
    let self: SecurityServerDouble | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        const index = self!.requests.push(recorded) - 1;
        for (const w of self!.waiters.splice(0)) w();
        const answer = self!.handler(recorded, index);
        if (answer === 'hang') return;
        res.writeHead(answer.status, { 'content-type': 'text/xml; charset=utf-8', ...answer.headers });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new SecurityServerDouble(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** Resolves when `n` requests have arrived. */
  async waitForRequests(n: number, timeoutMs = 10_000): Promise<RecordedRequest[]> {
    const until = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      if (Date.now() > until) throw new Error(`the Security Server double got ${this.requests.length} requests, not ${n}, within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests.slice(0, n);
  }

  reset(): void {
    this.requests.length = 0;
    this.handler = () => ({ status: 500, body: 'no handler' });
    this.server.closeAllConnections();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A provider's answer as its Security Server returns it: the request's X-Road headers copied (§2.2), the answer wrapped in `{serviceCode}Response`. */
export function soapAnswer(request: string, contentXml: string, edit: (header: string) => string = (h) => h): string {
  const header = /<SOAP-ENV:Header>([\s\S]*)<\/SOAP-ENV:Header>/.exec(request)?.[1];
  const code = /<id:serviceCode>([^<]*)<\/id:serviceCode>/.exec(request)?.[1];
  if (header === undefined || code === undefined) throw new Error('not an X-Road request');
  const hash = '<xrd:requestHash algorithmId="http://www.w3.org/2001/04/xmlenc#sha512">29KTVbZf83XlfdYrsxjaSYMGoxvktnTUBTtA4BmSrh1egtRtvR9VY8QycYaVdsKtGJIh/8CpucYWPbWfaIgJDQ==</xrd:requestHash>';
  return (
    '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">' +
    `<SOAP-ENV:Header>${edit(header)}${hash}</SOAP-ENV:Header><SOAP-ENV:Body><ns1:${code}Response xmlns:ns1="urn:provider">${contentXml.replace(/^<\?xml[^?]*\?>\s*/, '')}</ns1:${code}Response></SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}

/** A SOAP fault as X-Road writes them (Annex D.1). */
export function soapFault(code: string, text: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>${code}</faultcode><faultstring>${text}</faultstring><faultactor></faultactor><detail><faultDetail xmlns="">f31e7451-f0ac-48f6-9f05-1f0459e48eea</faultDetail></detail></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`;
}
