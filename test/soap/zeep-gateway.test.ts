/**
 * A standard SOAP client against the running gateway: Python's zeep loads the
 * WSDL the gateway serves, builds a SendRequest from it, python-xmlsec signs
 * it, and the gateway accepts it and answers with a signed reply.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, serviceExample } from '../helpers/smev.js';

const python = '/usr/bin/python3';
// Asynchronous on purpose: the gateway under test runs in this process and must keep serving.
const run = promisify(execFile);

describe('zeep, from the served WSDL, through the gateway', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    const probe = spawnSync(python, ['-c', 'import zeep, xmlsec'], { stdio: 'ignore' });
    if (probe.status !== 0) throw new Error('this test needs /usr/bin/python3 with zeep and xmlsec (apt-get install -y python3-zeep python3-xmlsec)');
    gw = await startGateway();
  });
  afterAll(() => gw?.close());

  for (const version of ['1.1', '1.2', '1.3'] as const) {
    it(`version ${version}: zeep builds, python-xmlsec signs, the gateway accepts and the application is in the inbox`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'okno-zeep-'));
      const content = gw.gateway.catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExample('kindergarten-enrollment'));
      writeFileSync(path.join(dir, 'content.xml'), content);
      const { stdout: out } = await run(
        python,
        [
          path.join(projectRoot, 'test/interop/zeep_client.py'),
          '--wsdl', `${gw.url}/ws/smev3?wsdl&v=${version}`,
          '--key', path.join(projectRoot, 'certs-sample/portal.key.pem'),
          '--cert', path.join(projectRoot, 'certs-sample/portal.crt.pem'),
          '--content', path.join(dir, 'content.xml'),
          '--version', version,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      const result = JSON.parse(out.trim().split('\n').pop()!) as { status: number; body: string; messageId: string; address: string };
      expect(result.address).toBe(`${gw.url}/ws/smev3`);
      expect(result.status, result.body).toBe(200);
      expect(result.body).toContain(`message-exchange/types/${version}`);
      expect(result.body).toContain('<t:Status>requestIsQueued</t:Status>');
      const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; content: unknown }> };
      expect(inbox.items.find((i) => i.messageId === result.messageId)?.content).toEqual(serviceExample('kindergarten-enrollment'));
    });
  }
});
