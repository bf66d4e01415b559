/**
 * The process's message events: one per exchange (inbound or outbound), for
 * whatever watches the flow live — metrics, the ops dashboard's event stream.
 * Plain in-process pub/sub; nothing here is durable (the journal is).
 * Events carry no personal data: ids, names of partners and services, outcomes.
 */
import { EventEmitter } from 'node:events';

export interface MessageEvent {
  at: string;
  direction: 'inbound' | 'outbound';
  operation: string;
  partner: string | null;
  service: string | null;
  messageId: string | null;
  outcome: 'accepted' | 'duplicate' | 'fault' | 'delivered' | 'retry' | 'refused';
  faultCode: string | null;
  /** For signature faults: the SMEV reason (SignatureIsInvalid, CertificateIsExpired, …). */
  signatureReason: string | null;
  applicationId: string | null;
  registrationNumber: string | null;
  durationMs: number;
  /**
   * Pull mode: the exchange the message went through. With partner null this
   * is the gateway's own traffic with the exchange (an Ack, a poll), not a
   * message from an unknown sender.
   */
  exchange?: string | null;
  /** Time spent per stage, when measured (parse, verify, translate, store, sign, deliver). */
  stages: Partial<Record<Stage, number>>;
}

export type Stage = 'parse' | 'verify' | 'translate' | 'store' | 'sign' | 'deliver';

/** Pull mode: one poll of an exchange (GetRequest, GetResponse, GetStatus) — the gateway's own traffic, counted, not listed. */
export interface PollEvent {
  at: string;
  exchange: string;
  operation: string;
  /** message: the exchange handed something over; empty: nothing waiting; failed: the exchange did not answer properly. */
  outcome: 'message' | 'empty' | 'failed';
}

class OpsEvents extends EventEmitter {
  publish(event: MessageEvent): void {
    this.emit('message', event);
  }

  publishPoll(event: PollEvent): void {
    this.emit('poll', event);
  }

  subscribePolls(listener: (event: PollEvent) => void): () => void {
    this.on('poll', listener);
    return () => this.off('poll', listener);
  }

  subscribe(listener: (event: MessageEvent) => void): () => void {
    this.on('message', listener);
    return () => this.off('message', listener);
  }
}

/** One bus per process; listeners are few (metrics, each open dashboard). */
export const opsEvents = new OpsEvents();
opsEvents.setMaxListeners(1000);
