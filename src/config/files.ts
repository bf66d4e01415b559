/**
 * The files and folders the configuration names, checked before anything is
 * loaded (main.ts): a wrong path stops start-up at once, naming its variable and
 * the path, instead of after the slow parts (catalogue, keys) or deep inside a
 * loader. Only existence and kind are checked here; each loader checks content.
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { Config } from './env.js';

interface ConfiguredPath {
  variable: string;
  path: string;
  kind: 'file' | 'directory';
}

/** Every path the configuration names, with the variable that names it. */
export function configuredPaths(config: Config): ConfiguredPath[] {
  const paths: ConfiguredPath[] = [];
  const file = (variable: string, path: string | null | undefined) => {
    if (path) paths.push({ variable, path, kind: 'file' });
  };
  const key = config.gatewayKey;
  if (key.kind === 'pem') {
    file('GATEWAY_KEY_FILE', key.keyFile);
    file('GATEWAY_CERT_FILE', key.certFile);
  } else if (key.kind === 'p12') {
    file('GATEWAY_P12_FILE', key.p12File);
  } else {
    // The module is left to its loader: a bare name is searched on the loader's path, and its message says more.
    file('GATEWAY_PKCS11_PIN_FILE', key.pinFile);
    file('GATEWAY_CERT_FILE', key.certFile);
  }
  file('TRUST_CA_FILE', config.trustCaFile);
  for (const crl of config.crlFiles) file('CRL_FILES', crl);
  file('PARTNERS_FILE', config.partnersFile);
  paths.push({ variable: 'SERVICES_DIR', path: config.servicesDir, kind: 'directory' });
  file('LIFECYCLE_FILE', config.lifecycleFile);
  if (config.tls) {
    file('TLS_CERT_FILE', config.tls.certFile);
    file('TLS_KEY_FILE', config.tls.keyFile);
    // Its default is TRUST_CA_FILE, checked above under its own name.
    if (config.tls.clientCaFile !== config.trustCaFile) file('TLS_CLIENT_CA_FILE', config.tls.clientCaFile);
  }
  file('OUTBOUND_TLS_CERT_FILE', config.outboundTls?.certFile);
  file('OUTBOUND_TLS_KEY_FILE', config.outboundTls?.keyFile);
  file('OUTBOUND_TLS_CA_FILE', config.outboundTls?.caFile);
  for (const recipient of config.journalArchive.encryptTo) file('ARCHIVE_ENCRYPT_TO', recipient);
  file('ARCHIVE_DECRYPT_KEY_FILE', config.journalArchive.decryptKeyFile);
  return paths;
}

/** One problem per configured path that does not exist, is of the wrong kind or cannot be read. */
export function checkConfiguredPaths(config: Config): string[] {
  const problems: string[] = [];
  for (const { variable, path, kind } of configuredPaths(config)) {
    try {
      const stat = statSync(path);
      if (kind === 'directory' && !stat.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      if (kind === 'file' && stat.isDirectory()) throw Object.assign(new Error('a directory, not a file'), { code: 'EISDIR' });
      accessSync(path, constants.R_OK);
    } catch (error) {
      problems.push(`${variable}: cannot read ${path}: ${describe(error as NodeJS.ErrnoException)}`);
    }
  }
  return problems;
}

function describe(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'ENOENT (no such file or directory)';
    case 'EACCES':
      return 'EACCES (permission denied)';
    case 'ENOTDIR':
      return 'ENOTDIR (not a directory)';
    case 'EISDIR':
      return 'EISDIR (a directory, not a file)';
    default:
      return error.code ?? error.message;
  }
}
