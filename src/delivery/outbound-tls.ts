/**
 * Calls to partners over https with the gateway's TLS client certificate
 * (OUTBOUND_TLS_CERT_FILE / OUTBOUND_TLS_KEY_FILE) and, optionally, a CA
 * bundle for the partners' server certificates (OUTBOUND_TLS_CA_FILE). One
 * keep-alive agent, built once at start-up; without these variables the
 * delivery keeps using fetch with Node's defaults.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createSecureContext } from 'node:tls';
import type { OutboundTlsConfig } from '../config/env.js';
import { TlsSetupError } from '../pki/tls-material.js';

export function createOutboundAgent(tls: OutboundTlsConfig): https.Agent {
  const problems: string[] = [];
  const read = (name: string, file: string | null): string | undefined => {
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`${name}: cannot read "${file}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return undefined;
    }
  };
  const options = { cert: read('OUTBOUND_TLS_CERT_FILE', tls.certFile), key: read('OUTBOUND_TLS_KEY_FILE', tls.keyFile), ca: read('OUTBOUND_TLS_CA_FILE', tls.caFile) };
  if (problems.length > 0) throw new TlsSetupError(problems);
  try {
    createSecureContext(options);
  } catch (error) {
    throw new TlsSetupError([`OUTBOUND_TLS_CERT_FILE / OUTBOUND_TLS_KEY_FILE / OUTBOUND_TLS_CA_FILE: ${(error as Error).message}`]);
  }
  return new https.Agent({ ...options, keepAlive: true, minVersion: 'TLSv1.2' });
}

export class OutboundHttpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundHttpError';
  }
}

/** POSTs over the agent; resolves with the status and the body as text (errors: OutboundHttpError with a code). */
export function postWithAgent(agent: https.Agent, url: string, headers: Record<string, string>, body: string | Readable, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // The whole exchange, not each idle gap, is bounded (as fetch with AbortSignal.timeout).
    const timer = setTimeout(() => req.destroy(new OutboundHttpError('TIMEOUT', `no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error instanceof OutboundHttpError ? error : new OutboundHttpError(error.code ?? error.name, error.message));
    };
    // A streamed body (MTOM with files) comes with its own content-length header.
    const length = typeof body === 'string' ? { 'content-length': String(Buffer.byteLength(body)) } : {};
    const req = https.request(url, { method: 'POST', agent, headers: { ...headers, ...length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    if (typeof body === 'string') req.end(body);
    else {
      body.on('error', (error: NodeJS.ErrnoException) => req.destroy(error));
      body.pipe(req);
    }
  });
}
