/** The city's side in tests: submitting applications as the portal and reading the JSON API. */
import type { InboxItem } from '../../src/city/model.js';
import type { JsonValue } from '../../src/store/types.js';
import type { RunningGateway } from './gateway.js';
import { CITY, postSoap, serviceExample, signedSendRequest } from './smev.js';

export type PagedItem = InboxItem & { cursor: string };
export interface InboxPage {
  items: PagedItem[];
  next: string;
}

/** Submits one application as the portal through POST /ws/smev3; fails loudly unless it is accepted. */
export async function submitApplication(gw: RunningGateway, service = 'advertising-permit', content: JsonValue = serviceExample(service)): Promise<string> {
  const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service, content });
  const res = await postSoap(gw.url, xml, { soapaction: 'urn:SendRequest' });
  if (res.status !== 200 || !res.body.includes('requestIsQueued')) throw new Error(`submit failed: HTTP ${res.status}\n${res.body}`);
  return messageId;
}

/** GET /api/v1/inbox with the city token; the query string is passed as given. */
export async function readInbox(url: string, query = 'limit=500'): Promise<InboxPage> {
  const res = await fetch(`${url}/api/v1/inbox?${query}`, { headers: CITY });
  if (res.status !== 200) throw new Error(`GET /api/v1/inbox?${query}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as InboxPage;
}
