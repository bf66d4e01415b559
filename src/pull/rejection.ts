/** RequestRejected answers the gateway sends through the exchange (pull mode): the queue and its jobs. */
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
