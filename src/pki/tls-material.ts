/**
 * HTTPS for the gateway's listener (TLS_CERT_FILE, TLS_KEY_FILE) and the
 * TLS client certificate of a request (TLS_CLIENT_AUTH, TLS_CLIENT_CA_FILE).
 *
 * With client authentication on, the server asks every client for a
 * certificate but does not refuse the handshake without one: the JSON API on
 * the same listener keeps its bearer tokens, and the SOAP endpoint decides
 * (src/push/access.ts) — a missing or untrusted certificate there is an
 * AccessDenied fault, journaled, instead of a bare handshake error.
 * Files are read and checked once, at start-up.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { TlsConfig } from '../config/env.js';

export class TlsSetupError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot serve HTTPS:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'TlsSetupError';
  }
}

/** Reads the certificate, key and client CA bundle and checks they make a TLS context. */
export function loadHttpsOptions(tls: TlsConfig): ServerOptions {
  const problems: string[] = [];
  const read = (name: string, file: string): string | null => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`${name}: cannot read "${file}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return null;
    }
  };
  const cert = read('TLS_CERT_FILE', tls.certFile);
  const key = read('TLS_KEY_FILE', tls.keyFile);
  const ca = tls.clientAuth === 'off' ? null : read('TLS_CLIENT_CA_FILE', tls.clientCaFile);
  if (cert !== null && !cert.includes('-----BEGIN CERTIFICATE-----')) problems.push(`TLS_CERT_FILE: "${tls.certFile}" holds no PEM certificate`);
  if (ca !== null && !ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(`TLS_CLIENT_CA_FILE: "${tls.clientCaFile}" holds no PEM certificate`);
  if (problems.length > 0) throw new TlsSetupError(problems);
  const options: ServerOptions = { cert: cert!, key: key!, minVersion: 'TLSv1.2' };
  if (ca !== null) Object.assign(options, { ca, requestCert: true, rejectUnauthorized: false });
  try {
    // Throws on a key that does not fit the certificate, an encrypted key, a broken bundle.
    createSecureContext(options);
  } catch (error) {
    throw new TlsSetupError([`TLS_CERT_FILE / TLS_KEY_FILE${ca !== null ? ' / TLS_CLIENT_CA_FILE' : ''}: ${(error as Error).message}`]);
  }
  return options;
}

/** What the client proved in the TLS handshake. */
export type TlsClient =
  | { kind: 'none' } // plain HTTP, or TLS without a client certificate
  | { kind: 'untrusted'; subject: string; error: string } // presented, but does not chain to TLS_CLIENT_CA_FILE or is out of date
  | { kind: 'trusted'; subject: string; fingerprint256: string };

export function tlsClientOf(socket: unknown): TlsClient {
  const tls = socket as Partial<TLSSocket> | null;
  if (!tls?.encrypted || typeof tls.getPeerCertificate !== 'function') return { kind: 'none' };
  const peer = tls.getPeerCertificate();
  if (!peer || !peer.raw) return { kind: 'none' };
  const subject = Object.entries(peer.subject ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
  if (!tls.authorized) return { kind: 'untrusted', subject, error: String(tls.authorizationError ?? 'not authorized') };
  return { kind: 'trusted', subject, fingerprint256: peer.fingerprint256.replace(/:/g, '').toLowerCase() };
}
