/**
 * What ops did to a status delivery (replay, discard), kept beside it: the
 * queue forgets a dead job's attempts when it is replayed and the job itself
 * when it is discarded, and the dashboard's trail must still show that the
 * delivery was dead.
 */
import { defineCollection, write } from '../store/collection.js';
import type { Store } from '../store/types.js';

export interface DeliveryAction {
  action: 'replay' | 'discard';
  at: string;
  /** Attempts the delivery had used when it was dead. */
  attempts: number;
  lastError: string | null;
  /** When it went dead (the queue's last update before the action). */
  deadAt: string | null;
  /** What it was when ops acted: dead, or still retrying (a stuck delivery discarded before it went dead). Absent: dead. */
  from?: 'dead' | 'retrying';
}

/** Ops actions on status deliveries, one document per delivery (by delivery id): what replay and discard leave behind. */
export const DELIVERY_ACTIONS = defineCollection<{ actions: DeliveryAction[] }>('delivery-actions');

export async function deliveryActions(store: Store, id: string): Promise<DeliveryAction[]> {
  const doc = await store.getDoc(DELIVERY_ACTIONS, id);
  return Array.isArray(doc?.actions) ? doc.actions : [];
}

export async function recordDeliveryAction(store: Store, id: string, action: DeliveryAction): Promise<void> {
  const actions = [...(await deliveryActions(store, id)), action].slice(-50);
  await store.commit({ docs: [write(DELIVERY_ACTIONS, id, { actions })] });
}
