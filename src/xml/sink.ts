/**
 * Where canonical text goes. An array works (join it afterwards); a digest
 * sink hashes the text in 64 KB chunks as it is produced, so a large signed
 * element is never held as one big string plus one big Buffer.
 */
export interface TextSink {
  push(...parts: string[]): unknown;
}

export interface ChunkConsumer {
  update(data: Uint8Array): unknown;
}

const CHUNK = 64 * 1024;

export class ChunkedSink implements TextSink {
  private parts: string[] = [];
  private length = 0;

  constructor(private readonly consumer: ChunkConsumer) {}

  push(...parts: string[]): void {
    for (const p of parts) {
      this.parts.push(p);
      this.length += p.length;
    }
    if (this.length >= CHUNK) this.flush();
  }

  /** Hands everything pushed so far to the consumer. */
  flush(): void {
    if (this.length === 0) return;
    this.consumer.update(Buffer.from(this.parts.join(''), 'utf8'));
    this.parts = [];
    this.length = 0;
  }
}
