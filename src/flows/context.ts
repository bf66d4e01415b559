import type { ArchiveReader } from '../journal/archive-reader.js';
import type { Agent } from 'node:https';
import type { ServiceCatalogue } from '../catalogue/types.js';
import type { Lifecycle } from '../city/lifecycle.js';
import type { Config } from '../config/env.js';
import type { PartnerRegistry } from '../registry/partners.js';
import type { Logger } from '../log.js';
import type { RevocationChecker } from '../pki/ocsp-client.js';
import type { Signer } from '../pki/signer.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import type { Store } from '../store/types.js';
import type { BlobSource, FileStoreUploader } from './outbound-files.js';
import { defineQueue } from '../store/typed-queue.js';

/** What the flows need, loaded once at start-up (see gateway.ts). */
export interface FlowContext {
  config: Config;
  store: Store;
  catalogue: ServiceCatalogue;
  lifecycle: Lifecycle;
  partners: PartnerRegistry;
  signer: Signer;
  trustAnchors: TrustAnchorSet;
  /** OCSP for partners' signing certificates (pki/ocsp-client.ts); null or absent: not asked. */
  revocation?: RevocationChecker | null;
  logger: Logger;
  /** How the gateway names itself in MessageMetadata (Recipient / Sender). */
  self: { mnemonic: string; name: string };
  /** Calls to partners over https present the gateway's TLS client certificate through it (OUTBOUND_TLS_*); null: fetch's defaults. */
  outboundAgent?: Agent | null;
  /** Archived journal records (journal/archive-reader.ts); null or absent: no archive. */
  journalArchive?: ArchiveReader | null;
  /** The blob store (ATTACHMENT_DIR) the city's files are read from; null or absent: files cannot be sent. */
  blobs?: BlobSource | null;
  /** Uploads the city's large files to an exchange's file store (pull mode); null or absent: they cannot be sent. */
  uploadToFileStore?: FileStoreUploader | null;
  now(): Date;
}

/** Inbox items to push to the city's webhook (CITY_WEBHOOK_URL), by item id. */
/** The city webhook: an inbox item to announce, or (with `event`) its file-store files ready or failed. */
export const WEBHOOK_QUEUE = defineQueue<{ inboxId: string; event?: 'attachments.ready' | 'attachments.failed' }>('city-webhook');
