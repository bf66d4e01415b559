/**
 * Reads what redis-memory.ts computes on: INFO memory, and MEMORY USAGE of every key under the
 * gateway's prefix (SCAN, pipelined), and the archive directory's size. The bench and the soak
 * measure a Redis that only the gateway uses.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { keyFamily, parseInfo, summarizeKeys, usedMemory, type KeyUsage, type MemorySnapshot } from './redis-memory.js';

export async function redisUsedMemory(client: Redis): Promise<number> {
  return usedMemory(await client.info('memory'));
}

/**
 * Σ MEMORY USAGE (SAMPLES 0: every element of an aggregate counted) over the keys under `prefix`,
 * by family; with `include`, only the keys of the families it accepts are measured (SCAN still
 * walks the whole keyspace, MEMORY USAGE is asked for those only).
 */
export async function keyUsage(client: Redis, prefix: string, include?: (family: string) => boolean): Promise<KeyUsage> {
  const entries: Array<{ key: string; bytes: number }> = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (include) keys.splice(0, keys.length, ...keys.filter((k) => include(keyFamily(k, prefix) ?? '')));
    if (keys.length) {
      const pipe = client.pipeline();
      for (const k of keys) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      const results = (await pipe.exec()) ?? [];
      keys.forEach((key, i) => {
        const bytes = results[i]?.[1];
        if (typeof bytes === 'number') entries.push({ key, bytes }); // null: the key went away between SCAN and now
      });
    }
  } while (cursor !== '0');
  return summarizeKeys(entries, prefix);
}

export async function memorySnapshot(client: Redis, prefix: string): Promise<MemorySnapshot> {
  const keys = await keyUsage(client, prefix);
  const netInputBytes = Number(parseInfo(await client.info('stats')).total_net_input_bytes);
  return { usedMemory: await redisUsedMemory(client), keys, ...(Number.isFinite(netInputBytes) ? { netInputBytes } : {}) };
}

/** Segment files (*.zip) in the archive directory (not .superseded/ or scratch): count and bytes. */
export function archiveSize(dir: string): { segments: number; bytes: number } {
  let segments = 0;
  let bytes = 0;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return { segments, bytes };
  }
  for (const name of names) {
    if (!name.endsWith('.zip')) continue;
    try {
      bytes += statSync(path.join(dir, name)).size;
      segments++;
    } catch {
      // removed meanwhile
    }
  }
  return { segments, bytes };
}
