/** src/flows/flow-parts.ts: what a flow context is made of, loaded from the configuration's files once; a bad file is named by its variable. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { SettingError } from '../../src/config/startup-failure.js';
import { GATEWAY_SELF, loadFlowParts, loadGatewayKey } from '../../src/flows/flow-parts.js';
import { projectRoot } from '../helpers/gateway.js';

const config = (env: Record<string, string> = {}) => loadConfig(env, projectRoot);

describe('loadFlowParts', () => {
  it('the configured partners, catalogue, lifecycle, trust anchors and the gateway\'s key (sample PKI)', () => {
    const parts = loadFlowParts(config(), undefined, true);
    expect(parts.partners.partners.map((p) => p.id)).toEqual(['portal', 'agency']);
    expect(parts.catalogue.get('advertising-permit')?.registrationPrefix).toBe('РК');
    expect(parts.catalogue.get('elk-order-status')).toBeDefined();
    expect(parts.lifecycle.initial).toBe('received');
    expect(parts.trustAnchors.anchors.map((c) => c.subject)).toEqual([expect.stringMatching(/Okno Sample PKI/)]);
    expect(parts.identity.isSample).toBe(true);
    expect(parts.signer.certificate.subject).toMatch(/CN=okno-gateway/);
    expect(parts.warnings).toEqual([]);
  });

  it('a file that cannot be loaded stops start-up naming its variable', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-flow-parts-'));
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{ "nope": ');
    for (const variable of ['PARTNERS_FILE', 'LIFECYCLE_FILE', 'TRUST_CA_FILE']) {
      let error: unknown;
      try {
        loadFlowParts(config({ [variable]: bad }), undefined, true);
      } catch (e) {
        error = e;
      }
      expect(error, variable).toBeInstanceOf(SettingError);
      expect((error as SettingError).variable).toBe(variable);
      expect((error as Error).message.startsWith(`${variable}`)).toBe(true);
    }
  });

  it('loadGatewayKey: the configured key with its identity; GATEWAY_SELF names the gateway', () => {
    const { signer, identity } = loadGatewayKey(config());
    expect(identity.isSample).toBe(true);
    expect(signer.certificate.subject).toMatch(/CN=okno-gateway/);
    expect(GATEWAY_SELF).toEqual({ mnemonic: 'okno', name: 'Okno — шлюз единого окна города' });
    expect(Object.isFrozen(GATEWAY_SELF)).toBe(true);
  });
});
