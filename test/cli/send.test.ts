/**
 * `okno send FILE.json --to URL` (the portal simulator), the compiled CLI
 * against a real gateway: the application arrives in the city's inbox; bad
 * content, an unknown service or a missing --to never reach the gateway.
 *
 * The gateway runs in this process, so the CLI runs with the asynchronous
 * execFile: a synchronous child would block the event loop it needs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/store/types.js';
import { readInbox } from '../helpers/city.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { serviceExamples } from '../helpers/smev.js';
import { uuidV1 } from '../../src/soap/message-id.js';

const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function okno(args: string[]): Promise<CliResult> {
  const env = { ...process.env };
  delete env.SERVICES_DIR;
  delete env.TRUST_CA_FILE;
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, env, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('okno send', () => {
  let gw: RunningGateway;
  let dir: string;
  const file = (name: string, value: unknown): string => {
    const p = path.join(dir, name);
    writeFileSync(p, JSON.stringify(value, null, 2));
    return p;
  };
  const [organization, person] = serviceExamples('advertising-permit') as [JsonValue, JsonValue];

  beforeAll(async () => {
    gw = await startGateway();
    dir = mkdtempSync(path.join(tmpdir(), 'okno-send-'));
  });
  afterAll(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('submits { service, content } as a signed SendRequest: exit 0, HTTP 200, requestIsQueued, the reply signature valid; the inbox has it', async () => {
    const before = await readInbox(gw.url);
    const result = await okno(['send', file('app.json', { service: 'advertising-permit', content: organization }), '--to', `${gw.url}/ws/smev3`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const messageId = /^MessageID ([0-9a-f-]{36})$/m.exec(result.stdout)?.[1];
    expect(messageId).toBeDefined();
    expect(result.stdout).toMatch(/^HTTP 200$/m);
    expect(result.stdout).toContain(`<t:MessageId>${messageId}</t:MessageId>`);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(/^reply: requestIsQueued; signed by ".*CN=okno-gateway.*" \(valid\)$/);

    const after = await readInbox(gw.url, `after=${before.next}`);
    expect(after.items).toHaveLength(1);
    expect(after.items[0]).toMatchObject({ kind: 'application', service: 'advertising-permit', messageId, partner: 'portal', content: organization, ackedAt: null });
    expect(after.items[0]!.registrationNumber).toMatch(/^РК-\d{4}-\d{6}$/);
    expect(after.items[0]!.signature).toMatchObject({ valid: true, partner: 'portal' });
  });

  it('--message-id, --version 1.3 and --profile xmldsig are honoured', async () => {
    const before = await readInbox(gw.url);
    const messageId = uuidV1(); // a fixed one would grow stale (MESSAGE_MAX_AGE_HOURS)
    const result = await okno(['send', file('app2.json', { service: 'advertising-permit', content: person }), '--to', `${gw.url}/ws/smev3`, '--message-id', messageId, '--version', '1.3', '--profile', 'xmldsig']);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain(`MessageID ${messageId}\nHTTP 200\n`);
    expect(result.stdout).toContain('xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3"');
    const after = await readInbox(gw.url, `after=${before.next}`);
    expect(after.items.map((i) => [i.messageId, i.content])).toEqual([[messageId, person]]);
  });

  it('content that violates the schema: exit 1, stderr names each field with its rule, nothing is sent', async () => {
    const before = await readInbox(gw.url);
    const bad = structuredClone(person) as { termYears: number; applicant: { person: { snils: string } } };
    bad.termYears = 99;
    bad.applicant.person.snils = '12345';
    const result = await okno(['send', file('bad.json', { service: 'advertising-permit', content: bad }), '--to', `${gw.url}/ws/smev3`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'okno send: the content does not fit service advertising-permit:\n' +
        '  /applicant/person/snils: /applicant/person/snils must match pattern "^\\d{3}-\\d{3}-\\d{3} \\d{2}$" (pattern ^\\d{3}-\\d{3}-\\d{3} \\d{2}$)\n' +
        '  /termYears: /termYears must be <= 10 (maximum 10)\n',
    );
    expect(await readInbox(gw.url)).toEqual(before);
  });

  it('a missing required field is named too', async () => {
    const { site: _site, ...noSite } = organization as Record<string, JsonValue>;
    const result = await okno(['send', file('nosite.json', { service: 'advertising-permit', content: noSite }), '--to', `${gw.url}/ws/smev3`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("okno send: the content does not fit service advertising-permit:\n  : (root) must have required property 'site' (required site)\n");
  });

  it('an unknown service: exit 1, stderr lists the services', async () => {
    const before = await readInbox(gw.url);
    const result = await okno(['send', file('unknown.json', { service: 'no-such-service', content: person }), '--to', `${gw.url}/ws/smev3`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      // Only services partners send the city (not the city's own queries and statuses).
      'okno send: "service" must name one of: advertising-permit, advertising-permit-register-extract, dwelling-replanning, kindergarten-enrollment (in the file, with --service ID, or by the example\'s folder config/services/<id>/)\n',
    );
    expect(await readInbox(gw.url)).toEqual(before);
  });

  it('a service the portal may not send is refused by the gateway: exit 1, the fault is printed', async () => {
    const before = await readInbox(gw.url);
    const [query] = serviceExamples('advertising-permit-register-extract');
    const result = await okno(['send', file('query.json', { service: 'advertising-permit-register-extract', content: query }), '--to', `${gw.url}/ws/smev3`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^HTTP 500$/m);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^reply: FAULT SenderIsNotRegistered — partner portal is not registered to send requests of service advertising-permit-register-extract \[OKNO:[0-9a-f-]{36}\]$/,
    );
    expect(await readInbox(gw.url)).toEqual(before);
  });

  it('missing --to: exit 2 with the usage', async () => {
    const result = await okno(['send', file('app3.json', { service: 'advertising-permit', content: person })]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^okno send: --to URL is required \(or --dry-run\)\nusage: okno send FILE\.json --to URL /);
  });

  it('an unreachable gateway: exit 1 and says so', async () => {
    const result = await okno(['send', file('app4.json', { service: 'advertising-permit', content: person }), '--to', 'http://127.0.0.1:1/ws/smev3']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^okno send: cannot reach http:\/\/127\.0\.0\.1:1\/ws\/smev3: /);
  });
});
