/**
 * Where archive segments live. A directory (ARCHIVE_DIR) by default; the interface is what an
 * S3-compatible bucket needs too. `put` never leaves a half segment under its final name: a
 * segment is built in the scratch directory and moved into place whole (a hard link on the same
 * file system, after an fsync; never over an existing name), so a crash at any point leaves either
 * no segment or a whole one.
 */
import { link, open, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseSegmentName } from './archive-segment.js';

export interface ArchiveStore {
  /** Where, for messages (a directory, or a bucket URL without credentials). */
  readonly where: string;
  /** A local directory to build segments in (cleared of leftovers at start). */
  scratchDir(): Promise<string>;
  /**
   * Moves a finished local file into the archive under `name`, whole or not at all; never over a
   * segment already there (SegmentExistsError: two instances wrote the same range, the first stays —
   * the store's index holds its checksum).
   */
  put(name: string, localFile: string): Promise<void>;
  /** The segment's bytes, or null when there is none by that name. */
  get(name: string): Promise<Buffer | null>;
  /** The names of the segments there, sorted (by seq, as the names sort). */
  list(): Promise<string[]>;
  remove(name: string): Promise<void>;
  /** Moves a segment the journal does not count out of the way (kept, never deleted: it may be someone's evidence). */
  setAside(name: string): Promise<void>;
}

/** put() found a segment by that name already in the archive (it is left as it is). */
export class SegmentExistsError extends Error {
  constructor(readonly segment: string) {
    super(`archive segment ${segment} exists already`);
    this.name = 'SegmentExistsError';
  }
}

/** A scratch file older than this is a segment a crash interrupted (writing one takes seconds). */
const STALE_SCRATCH_MS = 3_600_000;

/**
 * `<base>/.partial`, created, with the leftovers of interrupted segments removed (never counted).
 * Only old ones: several gateway instances may share the directory, and a fresh file there is
 * another instance's segment being written.
 */
export async function prepareScratchDir(base: string, now = Date.now()): Promise<string> {
  const scratch = path.join(base, '.partial');
  await mkdir(scratch, { recursive: true });
  for (const name of await readdir(scratch)) {
    const file = path.join(scratch, name);
    const info = await stat(file).catch(() => null);
    if (info && now - info.mtimeMs > STALE_SCRATCH_MS) await rm(file, { recursive: true, force: true });
  }
  return scratch;
}

export class DirArchiveStore implements ArchiveStore {
  private ready: Promise<string> | null = null;

  constructor(readonly dir: string) {}

  get where(): string {
    return this.dir;
  }

  scratchDir(): Promise<string> {
    this.ready ??= prepareScratchDir(this.dir);
    return this.ready;
  }

  async put(name: string, localFile: string): Promise<void> {
    if (!parseSegmentName(name)) throw new RangeError(`not a segment name: ${name}`);
    const handle = await open(localFile, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    // link() never replaces (EEXIST), where rename() would: a second instance's segment of the same range
    // must not swap the bytes under the first one's checksum. Atomic too: the name appears whole or not at all.
    try {
      await link(localFile, path.join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        await rm(localFile, { force: true });
        throw new SegmentExistsError(name);
      }
      throw error;
    }
    await rm(localFile, { force: true });
    // The new name is durable once the directory is synced.
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async get(name: string): Promise<Buffer | null> {
    if (!parseSegmentName(name)) return null;
    try {
      return await readFile(path.join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.filter((n) => parseSegmentName(n) !== null).sort();
  }

  async remove(name: string): Promise<void> {
    if (!parseSegmentName(name)) return;
    await rm(path.join(this.dir, name), { force: true });
  }

  async setAside(name: string): Promise<void> {
    if (!parseSegmentName(name)) return;
    const aside = path.join(this.dir, '.superseded');
    await mkdir(aside, { recursive: true });
    await rename(path.join(this.dir, name), path.join(aside, `${name}.${Date.now()}`));
  }
}
