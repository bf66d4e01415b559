import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOST_SAMPLE_FILES } from '../../src/pki/sample-pki-gost.js';
import { projectRoot } from '../helpers/gateway.js';

/** Runs the okno command the way a user does: `npx okno …` in the clone. */
function okno(args: string[]) {
  const result = spawnSync('npx', ['--no-install', 'okno', ...args], { cwd: projectRoot, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npx okno', () => {
  it('prints usage and exits 2 without a command, 0 with --help', () => {
    const none = okno([]);
    expect(none.status).toBe(2);
    expect(none.stdout).toMatch(/^usage: okno <command>/);
    expect(okno(['--help']).status).toBe(0);
  });

  it('exits 2 on an unknown command or a bad option', () => {
    const unknown = okno(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    expect(okno(['certs', '--bogus']).status).toBe(2);
    expect(okno(['certs', '--years', 'many']).status).toBe(2);
    expect(okno(['certs', '--rsa-only', '--gost-only']).status).toBe(2);
  });

  it('certs makes the sample PKI where it is told', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-cli-'));
    const result = okno(['certs', '--out', dir]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/TEST ONLY/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.pem'))).toHaveLength(12);
    expect(readdirSync(path.join(dir, 'gost')).sort()).toEqual([...GOST_SAMPLE_FILES].sort());
  });

  it('certs --gost-only leaves the RSA side alone', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-cli-'));
    expect(okno(['certs', '--out', dir, '--gost-only']).status).toBe(0);
    expect(readdirSync(dir)).toEqual(['gost']);
    expect(readdirSync(path.join(dir, 'gost')).sort()).toEqual([...GOST_SAMPLE_FILES].sort());
  });
});
