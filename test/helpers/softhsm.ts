/**
 * A real PKCS#11 token for tests: SoftHSM2 with its own configuration and token
 * directory in a temp dir (SOFTHSM2_CONF), keys generated inside the token with
 * OpenSC's pkcs11-tool, certificates issued for their public keys by the sample
 * CA with openssl. Debian packages: softhsm2, opensc, openssl.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireTool } from './tools.js';
import { projectRoot } from './gateway.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  dir: string;
  /** SOFTHSM2_CONF for the gateway's environment (and this test process). */
  conf: string;
  label: string;
  pin: string;
  pinFile: string;
  /** The environment a gateway needs for this token and key (certificate from a file). */
  env(keyLabel: string, certFile: string | null): Record<string, string>;
  /**
   * Generates a key pair inside the token (or `options.token`, one made by addToken); returns the
   * certificate the sample CA issues for its public key (a file named after label and id).
   */
  generateKey(kind: 'rsa' | 'ec', label: string, id: string, options?: { writeCertificate?: boolean; token?: string }): { certFile: string };
  /** A further token in the same SoftHSM2 directory (a new token at renewal), with the same PIN. */
  addToken(label: string): void;
  /** Deletes a key pair (private and public key objects) by its CKA_ID. */
  deleteKey(id: string, options?: { token?: string }): void;
  /** Takes the token's directory away (the token stops answering) and brings it back. */
  takeAway(): void;
  bringBack(): void;
  remove(): void;
}

export function requireSoftHsm(): void {
  requireTool('softhsm2-util', ['--version'], 'softhsm2');
  // pkcs11-tool has no --version and exits 1 after --help: only its absence counts.
  if (spawnSync('pkcs11-tool', ['--help'], { stdio: 'ignore' }).error) throw new Error('this test needs pkcs11-tool (apt-get install -y opensc)');
  requireTool('openssl', ['version'], 'openssl');
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`this test needs ${SOFTHSM_MODULE} (apt-get install -y softhsm2)`);
}

export function createSoftHsmToken(label = 'okno-test'): SoftHsmToken {
  requireSoftHsm();
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-softhsm-'));
  const tokens = path.join(dir, 'tokens');
  const away = path.join(dir, 'away');
  mkdirSync(tokens);
  const conf = path.join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const pin = '246810';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '13579'], { env, stdio: 'ignore' });
  const pinFile = path.join(dir, 'pin');
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  const tool = (args: string[], on = label) => execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', on, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tokenDir: string | null = null;

  return {
    dir,
    conf,
    label,
    pin,
    pinFile,
    env: (keyLabel, certFile) => ({
      SOFTHSM2_CONF: conf,
      GATEWAY_PKCS11_MODULE: SOFTHSM_MODULE,
      GATEWAY_PKCS11_TOKEN: label,
      GATEWAY_PKCS11_KEY: keyLabel,
      GATEWAY_PKCS11_PIN_FILE: pinFile,
      ...(certFile ? { GATEWAY_CERT_FILE: certFile } : {}),
    }),
    generateKey(kind, keyLabel, id, options = {}) {
      const on = options.token ?? label;
      // Named by token, label and id: two keys may share a label (a renewal's successor).
      const base = on === label ? keyLabel : `${on}-${keyLabel}`;
      const name = existsSync(path.join(dir, `${base}.crt.pem`)) ? `${base}-${id}` : base;
      tool(['--login', '--pin', pin, '--keypairgen', '--key-type', kind === 'rsa' ? 'rsa:2048' : 'EC:prime256v1', '--label', keyLabel, '--id', id], on);
      const pubDer = path.join(dir, `${name}.pub.der`);
      tool(['--read-object', '--type', 'pubkey', '--id', id, '-o', pubDer], on);
      const pubPem = path.join(dir, `${name}.pub.pem`);
      execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', pubDer, '-out', pubPem]);
      const certFile = path.join(dir, `${name}.crt.pem`);
      issueForPublicKey(dir, pubPem, `/O=Okno PKCS11 test/CN=${name}`, certFile);
      if (options.writeCertificate) {
        const der = path.join(dir, `${name}.crt.der`);
        execFileSync('openssl', ['x509', '-in', certFile, '-outform', 'DER', '-out', der]);
        tool(['--login', '--pin', pin, '--write-object', der, '--type', 'cert', '--id', id, '--label', keyLabel], on);
      }
      return { certFile };
    },
    addToken(newLabel) {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', newLabel, '--pin', pin, '--so-pin', '13579'], { env, stdio: 'ignore' });
    },
    deleteKey(id, options = {}) {
      for (const type of ['privkey', 'pubkey']) tool(['--login', '--pin', pin, '--delete-object', '--type', type, '--id', id], options.token ?? label);
    },
    takeAway() {
      const [only] = readdirSync(tokens);
      tokenDir = only!;
      renameSync(path.join(tokens, only!), away);
    },
    bringBack() {
      renameSync(away, path.join(tokens, tokenDir!));
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A certificate from the sample CA for a public key whose private half is elsewhere (openssl x509 -force_pubkey). */
export function issueForPublicKey(dir: string, publicKeyPem: string, subject: string, out: string): void {
  const csr = path.join(dir, 'throwaway.csr');
  // x509 -req needs some request; its key is replaced by the token's public key.
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'throwaway.key'), '-subj', '/CN=throwaway', '-out', csr], { stdio: 'ignore' });
  const ca = path.join(projectRoot, 'certs-sample');
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', path.join(ca, 'ca.crt.pem'), '-CAkey', path.join(ca, 'ca.key.pem'), '-force_pubkey', publicKeyPem, '-subj', subject, '-days', '30', '-out', out], { stdio: 'ignore' });
}
