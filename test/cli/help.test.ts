/**
 * The CLI helps (issue 20, point 5): `okno --version` from package.json, and every command and
 * subcommand answers --help / -h with its usage and options on stdout, exit 0 — wherever the
 * flag stands, also after other arguments. bin/okno.js runs as a user runs it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';

function okno(args: string[]) {
  const result = spawnSync(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Each command (and subcommand) with the options its parser accepts: the help must name them all. */
const COMMANDS: Array<{ args: string[]; usage: string; options: string[] }> = [
  { args: ['certs'], usage: 'usage: okno certs ', options: ['--out', '--years', '--rsa-only', '--gost-only'] },
  { args: ['sign'], usage: 'usage: okno sign FILE', options: ['--profile', '--id', '--out', '--key', '--cert', '--p12', '--password'] },
  { args: ['verify'], usage: 'usage: okno verify FILE', options: ['--trust', '--partners', '--ignore-trust', '--at', '--save-certs'] },
  { args: ['verify-file'], usage: 'usage: okno verify-file FILE --signature SIG.p7s', options: ['--signature', '--trust', '--certs', '--ignore-trust', '--at'] },
  { args: ['sign-file'], usage: 'usage: okno sign-file FILE', options: ['--out', '--pem', '--key', '--cert', '--p12', '--password'] },
  { args: ['send'], usage: 'usage: okno send FILE.json', options: ['--to', '--service', '--services', '--out', '--dry-run', '--profile', '--version', '--message-id', '--test', '--key', '--cert', '--p12', '--password'] },
  { args: ['poll'], usage: 'usage: okno poll --to URL', options: ['--to', '--responses', '--no-ack', '--key', '--cert', '--p12', '--password'] },
  { args: ['simulate'], usage: 'usage: okno simulate portal', options: ['--certs', '--trust'] },
  { args: ['simulate', 'portal'], usage: 'usage: okno simulate portal ', options: ['--port', '--certs', '--trust', '--services', '--expect-cert', '--key', '--cert', '--p12', '--password'] },
  { args: ['simulate', 'agency'], usage: 'usage: okno simulate agency --gateway URL', options: ['--gateway', '--port', '--certs', '--trust', '--expect-cert', '--reject', '--late', '--silent', '--services', '--key', '--cert'] },
  {
    args: ['simulate', 'smev'],
    usage: 'usage: okno simulate smev ',
    options: ['--port', '--certs', '--trust', '--services', '--key', '--cert', '--p12', '--password', '--ca-cert', '--ca-key', '--cert-out', '--system', '--visibility-timeout', '--inline-attachments', '--deliver-test-messages', '--file-store', '--ftp-port', '--s3-port', '--file-store-dir'],
  },
  {
    args: ['simulate', 'xroad'],
    usage: 'usage: okno simulate xroad ',
    options: ['--port', '--host', '--member', '--rest-member', '--allow', '--config', '--dialect', '--answer-as', '--partners', '--services', '--delay-ms', '--refuse', '--refuse-code', '--down', '--verbose'],
  },
  { args: ['journal'], usage: 'usage: okno journal verify', options: ['verify'] },
  { args: ['journal', 'verify'], usage: 'usage: okno journal verify ', options: ['--redis', '--prefix', '--cert', '--trust', '--json'] },
  { args: ['catalogue'], usage: 'usage: okno catalogue <subcommand>', options: ['--services'] },
  { args: ['catalogue', 'check'], usage: 'usage: okno catalogue check', options: [] },
];

describe('okno --version', () => {
  it('prints the version of package.json, exit 0', () => {
    const { version } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = okno([flag]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`okno ${version}\n`);
    }
  });

  it('the top-level usage names --help and --version', () => {
    const r = okno(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('okno <command> --help');
    expect(r.stdout).toContain('okno --version');
  });
});

describe('okno <command> --help', () => {
  for (const { args, usage, options } of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      it(`okno ${args.join(' ')} ${flag}: usage and every option, exit 0`, () => {
        const r = okno([...args, flag]);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).toBe('');
        expect(r.stdout.startsWith(usage), r.stdout).toBe(true);
        for (const o of options) expect(r.stdout, `${args.join(' ')}: ${o}`).toMatch(new RegExp(`(^|[\\s\\[|,])${o.replace(/-/g, '\\-')}\\b`, 'm'));
      });
    }
  }

  it('--help after other arguments still helps and does nothing else', () => {
    const send = okno(['send', 'no-such-file.json', '--to', 'http://127.0.0.1:1/ws/smev3', '--help']);
    expect(send.status).toBe(0);
    expect(send.stdout).toMatch(/^usage: okno send FILE\.json/);
    const sim = okno(['simulate', 'smev', '--port', '0', '-h']);
    expect(sim.status).toBe(0);
    expect(sim.stdout).toMatch(/^usage: okno simulate smev /);
    expect(sim.stdout).toContain('--visibility-timeout');
  });

  it('a real usage error is still exit 2 on stderr, pointing at --help', () => {
    const r = okno(['send', 'x.json']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('okno send --help');
  });
});
