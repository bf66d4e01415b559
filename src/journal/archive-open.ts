/** The archive store the settings name: an S3-compatible bucket when ARCHIVE_S3_URL is set, else ARCHIVE_DIR. */
import { S3ArchiveStore } from './archive-s3.js';
import { DirArchiveStore, type ArchiveStore } from './archive-store.js';

export interface ArchiveLocation {
  dir: string;
  s3: { url: string; region: string; accessKeyId: string; secretAccessKey: string } | null;
}

export function openArchiveStore(location: ArchiveLocation): ArchiveStore {
  return location.s3 ? new S3ArchiveStore({ ...location.s3, scratchDir: location.dir }) : new DirArchiveStore(location.dir);
}
