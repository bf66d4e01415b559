/**
 * "The city answered request X": published by the answer flow
 * (src/flows/city-answers.ts) after its commit, heard by whatever holds a
 * caller waiting for that answer (an X-Road client's synchronous call). In
 * process only: a waiter in another process polls the store as well.
 */
import { EventEmitter } from 'node:events';

const emitter = new EventEmitter();
// One listener per waiting call: many may wait at once.
emitter.setMaxListeners(0);

export const requestAnswers = {
  publish(requestId: string): void {
    emitter.emit(requestId);
  },
  /** `listener` hears the answer to `requestId`; call the result to stop listening. */
  subscribe(requestId: string, listener: () => void): () => void {
    emitter.on(requestId, listener);
    return () => emitter.off(requestId, listener);
  },
};
