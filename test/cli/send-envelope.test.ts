/**
 * `okno send --out FILE` writes the signed envelope it sent, byte for byte what the gateway
 * received (compared with the journal's evidence); `--dry-run` writes it without sending; the
 * service comes from the example's folder (config/services/<id>/example….json) when --service is
 * absent. The written envelope is checked by `okno verify` and by xmllint (well-formed).
 *
 * The gateway runs in this process, so the CLI runs with the asynchronous execFile.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInbox } from '../helpers/city.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { OPS } from '../helpers/smev.js';
import { uuidV1 } from '../../src/soap/message-id.js';

const run = promisify(execFile);

async function okno(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.SERVICES_DIR;
  delete env.TRUST_CA_FILE;
  delete env.PARTNERS_FILE;
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, env, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function xmllintWellFormed(file: string): void {
  const r = spawnSync('xmllint', ['--noout', file], { encoding: 'utf8' });
  if (r.error) throw new Error('xmllint is missing: apt-get install libxml2-utils');
  expect(r.status, r.stderr).toBe(0);
}

const example = path.join('config/services/advertising-permit/example.request.person.json');

describe('okno send --out / --dry-run / the service from the folder', () => {
  let gw: RunningGateway;
  let dir: string;
  beforeAll(async () => {
    gw = await startGateway();
    dir = mkdtempSync(path.join(tmpdir(), 'okno-send-out-'));
  });
  afterAll(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run --out: the signed envelope is written, nothing is sent, and it verifies', async () => {
    const before = await readInbox(gw.url);
    const out = path.join(dir, 'dry.xml');
    const messageId = uuidV1();
    const result = await okno(['send', example, '--dry-run', '--out', out, '--message-id', messageId]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('okno send: service advertising-permit (from the folder of config/services/advertising-permit/example.request.person.json)');
    expect(result.stderr).toContain(`to ${out}`);
    expect(result.stderr).toContain('--dry-run: nothing sent');
    const xml = readFileSync(out, 'utf8');
    expect(xml).toContain(`<t:MessageID>${messageId}</t:MessageID>`);
    expect(xml).toContain('CallerInformationSystemSignature');
    xmllintWellFormed(out);
    const verified = await okno(['verify', out]);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/verdict {6}VALID/);
    expect(verified.stdout).toMatch(/partner {6}portal/);
    expect(await readInbox(gw.url)).toEqual(before);
  });

  it('--dry-run without --out prints the envelope on stdout; no --to needed', async () => {
    const result = await okno(['send', example, '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^<(\?xml|[\w:]*Envelope)/);
    expect(result.stdout).toContain('SendRequestRequest');
  });

  it('--out while sending: the file is byte for byte the envelope the gateway journaled', async () => {
    const out = path.join(dir, 'sent.xml');
    const messageId = uuidV1();
    const result = await okno(['send', example, '--to', `${gw.url}/ws/smev3`, '--out', out, '--message-id', messageId]);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain(`MessageID ${messageId}`);
    const list = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${messageId}`, { headers: OPS })).json()) as { items: Array<{ id: string; direction: string }> };
    const inbound = list.items.find((i) => i.direction === 'inbound');
    expect(inbound, JSON.stringify(list)).toBeDefined();
    const record = (await (await fetch(`${gw.url}/api/v1/journal/${inbound!.id}`, { headers: OPS })).json()) as { evidence: { request: { encoding: string; text: string } } };
    expect(record.evidence.request.encoding).toBe('utf8');
    expect(Buffer.from(record.evidence.request.text, 'utf8').equals(readFileSync(out))).toBe(true);
  });

  it('a bare content file outside a service folder, without --service: exit 1, says how to name the service', async () => {
    const result = await okno(['send', path.join(projectRoot, 'package.json'), '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^okno send: "service" must name one of: .* \(in the file, with --service ID, or by the example's folder config\/services\/<id>\/\)\n$/);
  });

  it('--service still wins over the folder', async () => {
    const result = await okno(['send', example, '--service', 'dwelling-replanning', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^okno send: the content does not fit service dwelling-replanning:/);
  });
});
