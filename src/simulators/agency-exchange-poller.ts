/**
 * The agency simulator in pull mode: instead of being called (push), it takes
 * the city's queries from a SMEV 3 exchange, as a real agency's system does.
 * A loop, signed with the agency's key: GetRequest → when a message came,
 * verify the exchange's SMEVSignature and the sender's signature (trusted,
 * and with `expectedSigner` the gateway's certificate), hand the
 * SenderProvidedRequestData to the agency (AgencySimulator.acceptDelivered:
 * recorded, answered under its mode), then Ack it (accepted=false when it was
 * refused). The agency's answers go to the exchange as SendResponse (its
 * gateway URL is the exchange's endpoint), which routes them to the city.
 * After a message it polls again at once; after an empty or failed poll it
 * waits `intervalMs`.
 *
 * Library code: it never prints; hooks report what happened.
 */
import { signDocument } from '../signature/sign.js';
import type { Signer } from '../pki/signer.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { verifySignature } from '../signature/verify.js';
import { ackEnvelope, SIGNED_CALLER_ID } from '../soap/envelope-builder.js';
import { pollEnvelope } from '../soap/exchange-envelopes.js';
import { SmevFault } from '../soap/faults.js';
import type { SmevVersion } from '../soap/namespaces.js';
import { readSmevMessage, type SmevMessage } from '../soap/smev-message.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { AgencySimulator } from './agency.js';

export interface AgencyExchangePollerOptions {
  agency: AgencySimulator;
  /** The exchange's SOAP endpoint, e.g. http://127.0.0.1:8093/ws/smev3. */
  exchangeUrl: string;
  /** The agency's key (as registered at the exchange). */
  signer: Signer;
  trust: TrustAnchorSet;
  /** SHA-256 fingerprint of the only sender certificate accepted (the gateway's); unset: any trusted one. */
  expectedSigner?: string;
  /** The wait after an empty or failed poll (default 1000 ms). */
  intervalMs?: number;
  /** A delivered message the agency refused (it is Acked with accepted=false). */
  onRefused?: (messageId: string, message: string) => void;
  /** A poll or Ack that failed (network, HTTP status, fault) — once per distinct failure in a row, not at every retry. */
  onError?: (message: string) => void;
  /** The first successful poll after failures. */
  onRecovered?: () => void;
}

export class AgencyExchangePoller {
  private readonly aborter = new AbortController();
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lastError: string | null = null;
  /** Polls made, and messages taken. */
  polls = 0;
  taken = 0;

  constructor(private readonly options: AgencyExchangePollerOptions) {}

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.aborter.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.aborter.signal.aborted) {
      let took = false;
      try {
        took = await this.pollOnce();
        if (this.lastError !== null) this.options.onRecovered?.();
        this.lastError = null;
      } catch (error) {
        if (this.aborter.signal.aborted) return;
        const message = (error as Error).message;
        if (message !== this.lastError) this.options.onError?.(message);
        this.lastError = message;
      }
      if (!took) await this.sleep(this.options.intervalMs ?? 1000);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async post(operation: 'GetRequest' | 'Ack', envelope: string): Promise<{ status: number; contentType: string; body: Buffer }> {
    const body = await signDocument(envelope, { signer: this.options.signer, profile: 'smev', targetId: SIGNED_CALLER_ID });
    const res = await fetch(this.options.exchangeUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `urn:${operation}` },
      body,
      signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(10_000)]),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`${operation} to ${this.options.exchangeUrl}: HTTP ${res.status} ${bytes.toString('utf8').slice(0, 300)}`);
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: bytes };
  }

  /** One GetRequest (and its Ack); true when a message was taken. */
  async pollOnce(): Promise<boolean> {
    this.polls++;
    const reply = await this.post('GetRequest', pollEnvelope('GetRequest', '1.1', new Date()));
    const message = readSmevMessage(reply.body, reply.contentType);
    if (message.empty || !message.message || !message.messageId) return false;
    this.taken++;
    const version = message.version as SmevVersion;
    let accepted = true;
    try {
      await this.deliver(message, version);
    } catch (error) {
      accepted = false;
      this.options.onRefused?.(message.messageId, error instanceof SmevFault ? `${error.fault}: ${error.message}` : (error as Error).message);
    }
    await this.post('Ack', ackEnvelope(version, message.messageId, accepted));
    return true;
  }

  private async deliver(message: SmevMessage, version: SmevVersion): Promise<void> {
    const { trust, expectedSigner } = this.options;
    if (!message.smevSignature) throw new SmevFault('SignatureVerificationFault', 'the message carries no SMEVSignature');
    const smev = verifySignature(message.doc, message.smevSignature, message.message, { trust });
    if (!smev.valid) throw new SmevFault('SignatureVerificationFault', `the exchange's signature: ${smev.message}`);
    if (!message.senderSignature || !message.senderData) throw new SmevFault('SignatureVerificationFault', "the message carries no sender's signature");
    const sender = verifySignature(message.doc, message.senderSignature, message.senderData, { trust });
    if (!sender.valid) throw new SmevFault('SignatureVerificationFault', `the sender's signature: ${sender.message}`);
    const certificate = sender.details.certificate!;
    if (expectedSigner && certificate.fingerprintSha256 !== expectedSigner.toLowerCase()) {
      throw new SmevFault('SignatureVerificationFault', `signed by "${certificate.subject}", not by the expected certificate`);
    }
    const replyToEl = childElements(message.message!).find((c) => c.localName === 'ReplyTo');
    const replyTo = replyToEl ? textContent(replyToEl).trim() : '';
    if (!replyTo) throw new SmevFault('InvalidContent', 'the delivered request has no ReplyTo: the agency could not answer it');
    await this.options.agency.acceptDelivered(message.senderData, certificate.subject, version, replyTo);
  }
}
