/**
 * A tiny CA in a temp directory (the sample CA's key signs; openssl makes
 * everything), a real `openssl ocsp` responder on loopback, and a counting
 * proxy in front of it that can also play dead or spoil a byte of the
 * signed data (to prove signatures are checked).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from './gateway.js';
import { freePort } from './net.js';

export const samples = path.join(projectRoot, 'certs-sample');
export const sampleCa = { key: path.join(samples, 'ca.key.pem'), cert: path.join(samples, 'ca.crt.pem') };

export class TestCa {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'okno-ocsp-'));

  openssl(...args: string[]): string {
    return execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
  }

  /** A certificate from the sample CA with the given extension lines; returns key and certificate paths. */
  issue(name: string, serial: string, extensions: string[], ca = sampleCa): { key: string; cert: string; serial: string } {
    writeFileSync(path.join(this.dir, `${name}.ext`), `${extensions.join('\n')}\n`);
    this.openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key.pem`, '-subj', `/C=RU/O=Okno OCSP test/CN=${name}`, '-out', `${name}.csr`);
    this.openssl('x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${serial}`, '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.crt.pem`);
    return { key: path.join(this.dir, `${name}.key.pem`), cert: path.join(this.dir, `${name}.crt.pem`), serial };
  }

  /** An `openssl ca` index: V (valid) and R (revoked on 2025-01-01) entries; serials not listed are unknown to the responder. */
  writeIndex(file: string, entries: Array<{ serial: string; revoked?: boolean }>): string {
    const full = path.join(this.dir, file);
    writeFileSync(full, entries.map((e) => `${e.revoked ? 'R' : 'V'}\t351231000000Z\t${e.revoked ? '250101000000Z,keyCompromise' : ''}\t${e.serial.toUpperCase()}\tunknown\t/CN=${e.serial}\n`).join(''));
    writeFileSync(`${full}.attr`, 'unique_subject = no\n');
    return full;
  }

  /** `openssl ca -gencrl` of the sample CA listing `revokedSerials`. */
  makeCrl(name: string, revokedSerials: string[], seconds = 7 * 24 * 3600): string {
    const index = this.writeIndex(`${name}.crlindex.txt`, revokedSerials.map((serial) => ({ serial, revoked: true })));
    writeFileSync(path.join(this.dir, `${name}.cnf`), `[ ca ]\ndefault_ca = test\n[ test ]\ndatabase = ${index}\ndefault_md = sha256\ncrlnumber = ${path.join(this.dir, `${name}.crlnumber`)}\n`);
    writeFileSync(path.join(this.dir, `${name}.crlnumber`), '01\n');
    const out = path.join(this.dir, `${name}.crl.pem`);
    this.openssl('ca', '-gencrl', '-config', `${name}.cnf`, '-keyfile', sampleCa.key, '-cert', sampleCa.cert, '-crlsec', String(seconds), '-out', out);
    return out;
  }
}

/** An OpenSSL configuration that loads the gost engine (`openssl ocsp` has no -engine option). */
export function gostOpensslConf(ca: TestCa): string {
  const file = path.join(ca.dir, 'gost-openssl.cnf');
  writeFileSync(file, 'openssl_conf = openssl_def\n[openssl_def]\nengines = engine_section\n[engine_section]\ngost = gost_section\n[gost_section]\nengine_id = gost\ndefault_algorithms = ALL\n');
  return file;
}

export interface Responder {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** `openssl ocsp` serving `index` on a free loopback port, signing with rsigner/rkey; nextUpdate `nmin` minutes on. */
export async function startOcspResponder(
  ca: TestCa,
  o: { index: string; rsigner: string; rkey: string; nmin?: number; caCert?: string; env?: Record<string, string>; rmd?: string | null },
): Promise<Responder> {
  const port = await freePort();
  const rmd = o.rmd === undefined ? 'sha256' : o.rmd;
  const args = ['ocsp', '-index', o.index, '-port', String(port), '-rsigner', o.rsigner, '-rkey', o.rkey, '-CA', o.caCert ?? sampleCa.cert, ...(rmd ? ['-rmd', rmd] : []), ...(o.nmin ? ['-nmin', String(o.nmin)] : [])];
  const child: ChildProcess = spawn('openssl', args, { cwd: ca.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Its own word that it listens (a probe connection that closes at once would wedge openssl 3.0's accept loop).
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('waiting for OCSP client connections')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`openssl ocsp exited: ${output}`)));
  });
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    stop: async () => {
      child.kill();
      await exited;
    },
  };
}

export interface CountingProxy {
  url: string;
  port: number;
  /** OCSP requests that reached the proxy. */
  requests: number;
  /** Where requests go (a responder's port). */
  target: number;
  /** Drop every connection (a responder that is down). */
  down: boolean;
  /** Change one digit of producedAt (inside the signed data) in every answer. */
  tamper: boolean;
  close(): Promise<void>;
}

export async function startCountingProxy(target: number): Promise<CountingProxy> {
  let server: Server;
  const proxy: CountingProxy = {
    url: '',
    port: 0,
    requests: 0,
    target,
    down: false,
    tamper: false,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  server = createServer((req, res) => {
    proxy.requests++;
    if (proxy.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // One connection per request (openssl ocsp serves one connection at a time).
      const upstream = request({ host: '127.0.0.1', port: proxy.target, method: 'POST', path: '/', agent: false, headers: { 'content-type': 'application/ocsp-request', connection: 'close' } }, (r) => {
        const parts: Buffer[] = [];
        r.on('data', (c: Buffer) => parts.push(c));
        r.on('end', () => {
          const body = Buffer.concat(parts);
          if (proxy.tamper) spoilProducedAt(body);
          res.writeHead(r.statusCode ?? 502, { 'content-type': 'application/ocsp-response' }).end(body);
        });
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(Buffer.concat(chunks));
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  proxy.port = typeof address === 'object' && address ? address.port : 0;
  proxy.url = `http://127.0.0.1:${proxy.port}/`;
  return proxy;
}

/** producedAt is the first GeneralizedTime (tag 0x18, 15 bytes "YYYYMMDDHHMMSSZ") of the response. */
function spoilProducedAt(body: Buffer): void {
  const at = body.indexOf(Buffer.from([0x18, 0x0f]));
  if (at < 0) throw new Error('no GeneralizedTime in the OCSP response');
  const digit = at + 2 + 13; // the second digit of the seconds
  body[digit] = body[digit] === 0x30 ? 0x31 : 0x30;
}
