// xmllint (libxml2) as an independent judge of XSD validity: one process for many documents.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireTool } from './tools.js';

/** Throws (naming the Debian package) when xmllint is missing: tests that need it fail, never skip. */
export function requireXmllint(): void {
  requireTool('xmllint', ['--version'], 'libxml2-utils');
}

export interface XmllintVerdict {
  readonly valid: boolean;
  /** xmllint's messages for this document (empty when valid). */
  readonly messages: string[];
}

/**
 * Validates each document against `schema` (a path; its imports resolve from its folder) in one
 * xmllint run. Throws when xmllint cannot compile the schema.
 */
export function xmllintVerdicts(schema: string, documents: readonly string[]): XmllintVerdict[] {
  if (documents.length === 0) return [];
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-xmllint-'));
  try {
    const files = documents.map((doc, i) => {
      const file = path.join(dir, `d${i}.xml`);
      writeFileSync(file, doc);
      return file;
    });
    const r = spawnSync('xmllint', ['--noout', '--schema', path.resolve(schema), ...files], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.error) throw r.error;
    if (/failed to compile/.test(r.stderr)) throw new Error(`xmllint cannot compile ${schema}:\n${r.stderr.slice(0, 2000)}`);
    const verdicts = new Map<string, boolean>();
    const messages = new Map<string, string[]>();
    for (const line of r.stderr.split('\n')) {
      const done = /^(\S+\.xml) (validates|fails to validate)$/.exec(line);
      if (done !== null) {
        verdicts.set(done[1] as string, done[2] === 'validates');
        continue;
      }
      const msg = /^(\S+\.xml):\d+: (.*)$/.exec(line);
      if (msg !== null) messages.set(msg[1] as string, [...(messages.get(msg[1] as string) ?? []), msg[2] as string]);
    }
    return files.map((f) => {
      const valid = verdicts.get(f);
      if (valid === undefined) throw new Error(`xmllint gave no verdict for ${f}:\n${r.stderr.slice(0, 2000)}`);
      return { valid, messages: messages.get(f) ?? [] };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
