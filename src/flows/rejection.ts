/** RequestRejected answers the gateway sends through the exchange (pull mode): the queue and its jobs. Enqueued by the pull intake (a refused delivery), dead exchange messages and the file-store worker (a file whose signature the service refuses); sent by pull/pull-mode.ts. */
import { defineQueue } from '../store/typed-queue.js';

export const REJECTION_QUEUE = defineQueue<RejectionJob>('exchange-rejections');

/** A RequestRejected SendResponse waiting to go to the exchange. */
export interface RejectionJob {
  exchange: string;
  partner: string | null;
  service: string | null;
  replyTo: string;
  messageId: string;
  code: 'ACCESS_DENIED' | 'NO_DATA' | 'UNKNOWN_REQUEST_DESCRIPTION' | 'FAILURE';
  description: string;
}
