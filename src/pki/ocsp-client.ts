/**
 * Asks OCSP responders whether a partner's signing certificate is revoked,
 * and remembers the answers until their nextUpdate, so that the hot path asks
 * once per certificate and period, not once per message.
 *
 * The responder is OCSP_RESPONDER_URL when set, else the first http(s) URL of
 * the certificate's Authority Information Access (id-ad-ocsp). A certificate
 * with neither is not checked by OCSP ("skipped": CRLs still apply) and
 * /ready names it.
 *
 * Fail-closed: a responder that cannot be reached, answers garbage, an
 * unverifiable or stale response, is "unavailable", and the caller refuses
 * the message — unless OCSP_ON_OUTAGE=accept, which accepts it (never a
 * `revoked` or `unknown` answer) and counts it. Outages are not cached: the
 * next message asks again. Concurrent checks of one certificate share one
 * request.
 */
import { randomBytes } from 'node:crypto';
import type { OcspSettings } from '../config/env.js';
import { buildOcspRequest, certIdFor, checkOcspResponse, OcspError, parseOcspResponse } from './ocsp.js';
import type { Certificate } from './certificate.js';


/** Plain data (it crosses to the large-message threads as is). */
export type RevocationVerdict =
  | { status: 'good'; responder: string; cached: boolean; nextUpdate: string | null }
  | { status: 'skipped'; why: string }
  | { status: 'revoked'; responder: string; cached: boolean; revokedAt: string; reason: string | null }
  | { status: 'unknown'; responder: string; cached: boolean }
  | { status: 'unavailable'; responder: string; problem: string; acceptedOnOutage: boolean };

/** What the intake needs: the verdict on a leaf issued by `issuer`. */
export interface RevocationChecker {
  check(leaf: Certificate, issuer: Certificate, now: Date): Promise<RevocationVerdict>;
}

export interface OcspOutcomeEvent {
  result: RevocationVerdict['status'];
  /** responder: a request was made; cache: answered from the cache; none: skipped. */
  source: 'responder' | 'cache' | 'none';
  acceptedOnOutage: boolean;
}

/** Tolerated clock difference with responders. */
const SKEW_MS = 5 * 60_000;
/** A response without nextUpdate: accepted while its thisUpdate is this recent, and cached this long. */
const MAX_AGE_WITHOUT_NEXT_UPDATE_MS = 60 * 60_000;
const CACHE_WITHOUT_NEXT_UPDATE_MS = 5 * 60_000;
/** An OCSP response is a few KB; anything far bigger is not one. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface Cached {
  verdict: Extract<RevocationVerdict, { status: 'good' | 'revoked' | 'unknown' }>;
  untilMs: number;
}

export class OcspClient implements RevocationChecker {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<RevocationVerdict>>();
  private readonly listeners = new Set<(e: OcspOutcomeEvent) => void>();
  /** For /ready: the last responder call that failed, cleared by the next success. */
  lastFailure: { at: string; responder: string; problem: string } | null = null;
  requests = 0;

  constructor(
    readonly settings: OcspSettings,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** The responder this certificate would be asked at, or null (no AIA and no override). */
  responderFor(leaf: Certificate): string | null {
    return this.settings.responderUrl ?? leaf.ocspUrls.find((u) => /^https?:\/\//i.test(u)) ?? null;
  }

  onOutcome(listener: (e: OcspOutcomeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  async check(leaf: Certificate, issuer: Certificate, now: Date): Promise<RevocationVerdict> {
    if (this.settings.mode === 'off') return this.emit({ status: 'skipped', why: 'OCSP=off' }, 'none');
    const responder = this.responderFor(leaf);
    if (!responder) return this.emit({ status: 'skipped', why: 'the certificate names no OCSP responder (AIA) and OCSP_RESPONDER_URL is not set' }, 'none');
    const key = `${issuer.fingerprintSha256}:${leaf.serialHex}`;
    const hit = this.cache.get(key);
    if (hit && hit.untilMs > now.getTime()) return this.emit({ ...hit.verdict, cached: true }, 'cache');
    if (hit) this.cache.delete(key);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ask(responder, leaf, issuer, key, now).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return this.emit(await pending, 'responder');
  }

  private emit(verdict: RevocationVerdict, source: OcspOutcomeEvent['source']): RevocationVerdict {
    const event: OcspOutcomeEvent = { result: verdict.status, source, acceptedOnOutage: verdict.status === 'unavailable' && verdict.acceptedOnOutage };
    for (const listener of this.listeners) listener(event);
    return verdict;
  }

  private async ask(responder: string, leaf: Certificate, issuer: Certificate, key: string, now: Date): Promise<RevocationVerdict> {
    const certId = certIdFor(leaf, issuer, this.settings.hash);
    const nonce = randomBytes(16);
    // What the responder echoes is the extnValue's contents: the DER OCTET STRING of the nonce.
    const sentNonce = Buffer.concat([Buffer.from([0x04, nonce.length]), nonce]);
    try {
      this.requests++;
      const body = await this.post(responder, buildOcspRequest(certId, nonce));
      const answer = checkOcspResponse(parseOcspResponse(body), { certId, issuer, nonce: sentNonce, now, skewMs: SKEW_MS, maxAgeWithoutNextUpdateMs: MAX_AGE_WITHOUT_NEXT_UPDATE_MS });
      this.lastFailure = null;
      const base = { responder, cached: false };
      const verdict: Cached['verdict'] =
        answer.status === 'good'
          ? { status: 'good', ...base, nextUpdate: answer.nextUpdate?.toISOString() ?? null }
          : answer.status === 'revoked'
            ? { status: 'revoked', ...base, revokedAt: answer.revokedAt!.toISOString(), reason: answer.revocationReason }
            : { status: 'unknown', ...base };
      const untilMs = answer.nextUpdate ? answer.nextUpdate.getTime() : now.getTime() + CACHE_WITHOUT_NEXT_UPDATE_MS;
      if (untilMs > now.getTime()) this.remember(key, { verdict, untilMs });
      return verdict;
    } catch (error) {
      const problem = error instanceof OcspError ? error.message : describeFetchError(error);
      this.lastFailure = { at: now.toISOString(), responder, problem };
      return { status: 'unavailable', responder, problem, acceptedOnOutage: this.settings.onOutage === 'accept' };
    }
  }

  private remember(key: string, entry: Cached): void {
    this.cache.delete(key);
    while (this.cache.size >= this.settings.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, entry);
  }

  private async post(url: string, request: Buffer): Promise<Buffer> {
    const response = await this.fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
      body: new Uint8Array(request),
      signal: AbortSignal.timeout(this.settings.timeoutMs),
      redirect: 'error',
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new OcspError(`the responder answered HTTP ${response.status}`);
    }
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_RESPONSE_BYTES) {
      await response.body?.cancel();
      throw new OcspError(`the responder's answer is too large (${length} bytes)`);
    }
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > MAX_RESPONSE_BYTES) throw new OcspError(`the responder's answer is too large (${body.length} bytes)`);
    return body;
  }
}

function describeFetchError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'the responder did not answer in time';
  return `the responder cannot be reached (${e.cause?.code ?? e.cause?.message ?? e.message})`;
}
