/**
 * Inbox items as the city sees them, from how the store keeps them (issue 26
 * point 1: one copy of each document). An application's content and
 * attachments live in its application document only; its inbox item names
 * the application (`applicationId`, `contentIn: 'application'`) and gets them
 * back here, on read. The city's JSON (GET /api/v1/inbox, the webhook) is the
 * same InboxItem as before.
 */
import type { Store } from '../store/types.js';
import { APPLICATIONS, INBOX, type InboxItem, type StoredInboxItem } from './model.js';

/** What to store for an item: an application's item without the copy of its content and attachments. */
export function storedInboxItem(item: InboxItem): StoredInboxItem {
  if (item.kind !== 'application' || item.applicationId === null) return item;
  const { content: _content, attachments: _attachments, ...rest } = item;
  return { ...rest, contentIn: 'application' };
}

/** The item the city sees: a stored one with its application's content and attachments put back. */
export async function inboxItemView(store: Store, stored: StoredInboxItem): Promise<InboxItem> {
  if (stored.contentIn !== 'application') {
    const { contentIn: _none, ...item } = stored;
    return item;
  }
  const { contentIn: _marker, content: _c, attachments: _a, ...rest } = stored;
  const application = stored.applicationId ? await store.getDoc(APPLICATIONS, stored.applicationId) : null;
  // Written in the same commit as the item, and never removed: absent only if someone removed it by hand.
  return { ...rest, content: application?.content ?? null, attachments: application?.attachments ?? [] };
}

/** One inbox item as the city sees it, or null. */
export async function readInboxItem(store: Store, id: string): Promise<InboxItem | null> {
  const stored = await store.getDoc(INBOX, id);
  return stored ? inboxItemView(store, stored) : null;
}
