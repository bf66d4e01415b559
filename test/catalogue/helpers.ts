import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CatalogueError } from '../../src/catalogue/errors.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SHIPPED = path.join(ROOT, 'config/services');
export const FIXTURES = path.join(ROOT, 'test/fixtures/catalogue');

const made: string[] = [];

/** A temporary catalogue directory holding copies of the shipped services (or none). */
export function tempCatalogue(options: { shipped?: boolean } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-catalogue-'));
  made.push(dir);
  if (options.shipped !== false) cpSync(SHIPPED, dir, { recursive: true });
  return dir;
}

export function removeTempCatalogues(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function readJsonFile(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8')) as unknown;
}

/** Rewrites a JSON file through a mutation of its parsed content. */
export function editJson(file: string, edit: (data: any) => void): void {
  const data = readJsonFile(file);
  edit(data);
  writeFileSync(file, JSON.stringify(data, null, 2));
}

/** The problems of the CatalogueError that fn throws (fails the test if it throws anything else). */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof CatalogueError) return error.problems;
    throw error;
  }
  throw new Error('expected a CatalogueError');
}
