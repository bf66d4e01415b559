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
  /** When present, text is handed over as is (the consumer encodes it as UTF-8 itself). */
  updateText?(text: string): unknown;
}

const CHUNK = 64 * 1024;

export class ChunkedSink implements TextSink {
  // One growing string: V8 concatenates into a rope, flattened once per chunk
  // by Buffer.from — cheaper than an array of parts and a join.
  private text = '';

  constructor(private readonly consumer: ChunkConsumer) {}

  push(a: string, b?: string, c?: string, d?: string, ...more: string[]): void {
    let text = this.text + a;
    if (b !== undefined) {
      text += b;
      if (c !== undefined) {
        text += c;
        if (d !== undefined) {
          text += d;
          for (const p of more) text += p;
        }
      }
    }
    this.text = text;
    if (text.length >= CHUNK) this.flush();
  }

  /** Hands everything pushed so far to the consumer. */
  flush(): void {
    if (this.text.length === 0) return;
    if (this.consumer.updateText) this.consumer.updateText(this.text);
    else this.consumer.update(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }
}
