/**
 * `okno simulate …` as a person runs it at a terminal: what the exchange
 * prints while a gateway polls it, and stopping with SIGTERM / SIGINT —
 * directly and through `npx okno`, which starts node under `sh -c` — after
 * which the port is free again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnOkno, type OknoProcess } from '../helpers/cli-process.js';
import { ExchangeClient } from '../helpers/exchange.js';
import { projectRoot } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { sampleSigner } from '../helpers/smev.js';

/** Binds 127.0.0.1:port once; resolves true when it could. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Retries the bind until it succeeds or `ms` pass (the process may still be closing). */
async function bindsWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await canBind(port)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const started: OknoProcess[] = [];
const groups: ChildProcess[] = [];
function okno(args: string[]): OknoProcess {
  const p = spawnOkno(args, 15_000);
  started.push(p);
  return p;
}

afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  // npx runs: the whole process group (npx, sh, node) we started
  for (const g of groups.splice(0)) {
    try {
      process.kill(-g.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

describe('okno simulate: stopping frees the port', () => {
  it('smev stops on SIGTERM, exits 0, and its port can be bound again', async () => {
    const port = await freePort();
    const cli = okno(['simulate', 'smev', '--port', String(port)]);
    await cli.until(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(await canBind(port)).toBe(false);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.out).toMatch(/SMEV exchange simulator stopped: /);
    expect(await canBind(port)).toBe(true);
  }, 20_000);

  it('portal and agency stop on SIGINT (Ctrl-C), exit 0, and free their ports', async () => {
    const portalPort = await freePort();
    const agencyPort = await freePort();
    const portal = okno(['simulate', 'portal', '--port', String(portalPort)]);
    const agency = okno(['simulate', 'agency', '--port', String(agencyPort), '--gateway', 'http://127.0.0.1:9']);
    await Promise.all([portal.until(/listening on /), agency.until(/listening on /)]);
    portal.child.kill('SIGINT');
    agency.child.kill('SIGINT');
    expect(await portal.exited).toBe(0);
    expect(await agency.exited).toBe(0);
    expect(portal.out).toMatch(/portal simulator stopped: /);
    expect(agency.out).toMatch(/agency simulator stopped: /);
    expect(await canBind(portalPort)).toBe(true);
    expect(await canBind(agencyPort)).toBe(true);
  }, 20_000);

  it('through npx okno (npx → sh -c → node): SIGTERM to the npx process stops the simulator and frees its port', async () => {
    const port = await freePort();
    // npx beside this node when it has one, else the one on PATH (CI: the system's npm, Node 24 first on PATH)
    const besideNode = path.join(path.dirname(process.execPath), 'npx');
    const npx = existsSync(besideNode) ? besideNode : 'npx';
    // its own process group, so that afterEach can take down whatever is left of it
    const child = spawn(npx, ['--no-install', 'okno', 'simulate', 'smev', '--port', String(port)], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` },
    });
    groups.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const deadline = Date.now() + 20_000;
    while (!/listening on /.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npx okno simulate smev did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await canBind(port)).toBe(false);
    child.kill('SIGTERM');
    // the node process under sh notices its parent is gone (checked every 500 ms) and closes
    expect(await bindsWithin(port, 5_000)).toBe(true);
  }, 40_000);
});

describe('okno simulate --host', () => {
  it('listens where it is told (0.0.0.0 in a container: every interface), answering on loopback too', async () => {
    const cli = okno(['simulate', 'portal', '--host', '0.0.0.0', '--port', '0']);
    const port = Number((await cli.until(/listening on http:\/\/0\.0\.0\.0:(\d+)\/ws\/smev3/))[1]);
    // not a SOAP envelope: refused with a SMEV fault, but answered
    const res = await fetch(`http://127.0.0.1:${port}/ws/smev3`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<x/>' });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('SignatureVerificationFault');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  }, 20_000);
});

describe('okno simulate smev: what it prints while a gateway polls', () => {
  it('prints no line per empty poll; sums them up per period and at stop', async () => {
    const port = await freePort();
    const cli = okno(['simulate', 'smev', '--port', String(port), '--poll-summary', '1']);
    const endpoint = (await cli.until(/listening on (http:\/\/127\.0\.0\.1:\d+\/ws\/smev3)/))[1]!;
    await cli.until(/empty polls are summed up every 1 s \(--verbose prints each\)/);
    const gateway = new ExchangeClient(endpoint, sampleSigner('gateway'));
    for (let i = 0; i < 3; i++) expect((await gateway.poll('GetRequest')).status).toBe(200);
    expect((await gateway.poll('GetResponse')).status).toBe(200);
    await cli.until(/polls {2}\d+ empty in the last \d+ s \(okno GetRe[^)]*\)\n/);
    expect(cli.out).not.toMatch(/ {2}empty {2}/);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    // the four polls may fall into one period or two: summed up, per caller and operation
    const perKey = new Map<string, number>();
    let total = 0;
    for (const m of cli.out.matchAll(/polls {2}(\d+) empty in the last \d+ s \(([^)]*)\)\n/g)) {
      total += Number(m[1]);
      for (const part of m[2]!.split(', ')) {
        const [, key, n] = /^(.+) (\d+)$/.exec(part)!;
        perKey.set(key!, (perKey.get(key!) ?? 0) + Number(n));
      }
    }
    expect(total).toBe(4);
    expect(Object.fromEntries(perKey)).toEqual({ 'okno GetRequest': 3, 'okno GetResponse': 1 });
    expect(cli.out).toMatch(/stopped: 0 sent, 0 delivered \(0 again\), 0 acked, 0 faults, 4 empty polls\n/);
  }, 20_000);

  it('--verbose prints every empty poll', async () => {
    const cli = okno(['simulate', 'smev', '--port', '0', '--verbose']);
    const endpoint = (await cli.until(/listening on (http:\/\/127\.0\.0\.1:\d+\/ws\/smev3)/))[1]!;
    await cli.until(/every poll is printed \(--verbose\)/);
    await new ExchangeClient(endpoint, sampleSigner('gateway')).poll('GetRequest');
    await cli.until(/ {2}empty {2}GetRequest {2}— {2}\? → okno\n/);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.out).toMatch(/polls {2}1 empty in the last \d+ s \(okno GetRequest 1\)\n/);
  }, 20_000);

  it('exits 2 on a bad --poll-summary', async () => {
    const cli = okno(['simulate', 'smev', '--port', '0', '--poll-summary', 'often']);
    expect(await cli.exited).toBe(2);
    expect(cli.err).toMatch(/--poll-summary takes seconds/);
  });
});
