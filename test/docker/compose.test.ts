/**
 * docker-compose.yml as the README ships it. Where compose exists (the docker
 * plugin, or Debian's docker-compose that .ci/run installs), `--profile demo
 * config` (compose's own reading: merge keys, profiles, interpolation) is what
 * is checked; otherwise (never in CI) the file is parsed with a YAML parser
 * (merge keys on) and the same checks run on that. Checked: the services and variables the README names, the
 * demo profile (portal, agency and exchange simulators from the gateway's
 * image), that the gateway's registry reaches the partners by service name
 * and port — nothing points a container at its own 127.0.0.1 — and that the
 * simulators listen on every interface of their container.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPartners } from '../../src/registry/partners.js';
import { projectRoot } from '../helpers/gateway.js';

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string | null>;
  ports?: Array<string | { target: number; published: string | number }>;
  depends_on?: unknown;
  healthcheck?: { disable?: boolean; test?: string[] };
  volumes?: Array<string | { type?: string; source: string; target: string; read_only?: boolean }>;
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
}

const composeFile = path.join(projectRoot, 'docker-compose.yml');
const raw = readFileSync(composeFile, 'utf8');
const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
const API_TOKENS = 'city-secret-token:city,ops-secret-token:ops';

function succeeds(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/**
 * The compose model with the demo profile on: compose's own reading when compose exists (the
 * docker plugin, or Debian's docker-compose, which .ci/run installs), else the YAML file itself.
 * In CI compose's own reading is required.
 */
function model(profiles: readonly string[] = ['demo', 'pull']): { how: string; services: Record<string, Service> } {
  const env: NodeJS.ProcessEnv = { ...process.env, API_TOKENS };
  delete env.PARTNERS_FILE;
  const profileArgs = profiles.flatMap((p) => ['--profile', p]);
  // The services compose would start with these profiles (docker-compose v1's `config` lists them all).
  const started = (all: Record<string, Service>) => Object.fromEntries(Object.entries(all).filter(([, svc]) => !svc.profiles || svc.profiles.length === 0 || svc.profiles.some((p) => profiles.includes(p))));
  if (succeeds('docker', ['compose', 'version'])) {
    const json = execFileSync('docker', ['compose', '-f', composeFile, ...profileArgs, 'config', '--format', 'json'], { cwd: projectRoot, env, encoding: 'utf8' });
    return { how: 'docker compose config', services: started((JSON.parse(json) as { services: Record<string, Service> }).services) };
  }
  if (succeeds('docker-compose', ['version'])) {
    const yaml = execFileSync('docker-compose', ['-f', composeFile, ...profileArgs, 'config'], { cwd: projectRoot, env, encoding: 'utf8' });
    return { how: 'docker-compose config', services: started((parse(yaml) as { services: Record<string, Service> }).services) };
  }
  if (process.env.CI === 'true') throw new Error('neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose): CI checks the file with compose itself');
  const doc = parse(raw, { merge: true }) as { services: Record<string, Service> };
  return { how: 'YAML', services: started(doc.services) };
}

/** Named volumes a service mounts: target path → volume name. */
function namedVolumes(s: Service): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of s.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source && target && !source.startsWith('.') && !source.startsWith('/')) out.set(target, source);
    } else if (v.type === undefined || v.type === 'volume') out.set(v.target, v.source);
  }
  return out;
}

/** "8091:8091" or compose's long form → the container port. */
function containerPorts(s: Service): number[] {
  return (s.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').at(-1)) : p.target));
}

function optionOf(command: string[] | undefined, name: string): string | undefined {
  const i = command?.indexOf(name) ?? -1;
  return i >= 0 ? command![i + 1] : undefined;
}

describe('docker-compose.yml', () => {
  const { how, services } = model();

  it(`has redis and okno by default, portal, agency, smev under the demo profile and smev, agency-pull under the pull profile (${how})`, () => {
    expect(Object.keys(services).sort()).toEqual(['agency', 'agency-pull', 'okno', 'portal', 'redis', 'smev']);
    expect(services.redis!.profiles ?? []).toEqual([]);
    expect(services.okno!.profiles ?? []).toEqual([]);
    for (const sim of ['portal', 'agency', 'smev', 'agency-pull']) {
      expect(services[sim]!.profiles, sim).toEqual(sim === 'smev' ? ['demo', 'pull'] : sim === 'agency-pull' ? ['pull'] : ['demo']);
      // the simulators run from the gateway's own image
      expect(services[sim]!.image, sim).toBe(services.okno!.image);
      expect(services[sim]!.command?.slice(0, 4), sim).toEqual(['node', 'bin/okno.js', 'simulate', sim.replace('-pull', '')]);
      const hc = services[sim]!.healthcheck;
      if (sim === 'smev') {
        // healthy once its certificate is on the shared volume
        expect(hc?.test).toEqual(['CMD', 'test', '-s', optionOf(services.smev!.command, '--cert-out')]);
      } else {
        // the image's HEALTHCHECK asks the gateway's /health: not theirs
        // (`disable: true`; compose v1 writes it as the test NONE)
        expect(hc?.disable === true || hc?.test?.[0] === 'NONE', sim).toBe(true);
      }
    }
  });

  it("pull mode: the gateway's pull registry reaches the exchange by its service name and reads the certificate the exchange writes to a volume both mount", () => {
    expect(raw).toMatch(/PARTNERS_FILE: \$\{PARTNERS_FILE:-config\/partners\.docker\.json\}/);
    const file = path.join(projectRoot, 'config/partners.pull.docker.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { exchanges: Array<{ url: string; certificates: string[] }>; partners: Array<{ certificates: string[]; transport: { mode: string } }> };
    const exchange = doc.exchanges[0]!;
    const url = new URL(exchange.url);
    expect(url.hostname).toBe('smev');
    expect(optionOf(services.smev!.command, '--port')).toBe(url.port);
    expect(containerPorts(services.smev!)).toContain(Number(url.port));
    for (const p of doc.partners) expect(p.transport.mode).toBe('pull');
    // the certificate the registry names is the one the exchange writes, on the same named volume
    const certOut = optionOf(services.smev!.command, '--cert-out')!;
    expect(exchange.certificates).toEqual([certOut]);
    const dir = path.posix.dirname(certOut);
    const smevVolume = namedVolumes(services.smev!).get(dir);
    expect(smevVolume, `smev mounts a named volume at ${dir}`).toBeDefined();
    expect(namedVolumes(services.okno!).get(dir), 'the gateway mounts the same volume').toBe(smevVolume);
    // the image makes that directory the unprivileged user's, so a fresh volume is writable by it
    expect(readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8')).toContain(`chown node:node ${dir}`);
    // the pull agency takes its queries from the exchange by service name
    const agencyExchange = new URL(optionOf(services['agency-pull']!.command, '--exchange')!);
    expect(agencyExchange.hostname).toBe('smev');
    expect(agencyExchange.port).toBe(url.port);
    // the registry itself loads once the certificate exists (here: the sample CA's gateway cert in its place)
    const dirOut = mkdtempSync(path.join(tmpdir(), 'okno-compose-'));
    try {
      const absolute = (c: string) => (c.startsWith('/') ? path.join(projectRoot, 'certs-sample/gateway.crt.pem') : path.resolve(path.dirname(file), c));
      const local = { ...doc, exchanges: doc.exchanges.map((e) => ({ ...e, url: e.url, certificates: e.certificates.map(absolute) })), partners: doc.partners.map((p) => ({ ...p, certificates: p.certificates.map(absolute) })) };
      writeFileSync(path.join(dirOut, 'partners.json'), JSON.stringify(local));
      const { registry } = loadPartners(path.join(dirOut, 'partners.json'));
      expect(registry.partners.map((p) => p.id).sort()).toEqual(['agency', 'portal']);
      expect(readme).toContain('PARTNERS_FILE=config/partners.pull.docker.json');
    } finally {
      rmSync(dirOut, { recursive: true, force: true });
    }
  });

  it('gives the gateway the variables the README names; API_TOKENS must be set', () => {
    const env = services.okno!.environment!;
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    expect(env.PARTNERS_FILE).toBe('config/partners.docker.json');
    expect(env.OKNO_ALLOW_SAMPLE_KEYS).toBe('true');
    expect(raw).toMatch(/API_TOKENS: \$\{API_TOKENS:\?/);
    for (const name of ['API_TOKENS', 'PARTNERS_FILE', 'OKNO_ALLOW_SAMPLE_KEYS', 'config/partners.docker.json']) expect(readme, `README names ${name}`).toContain(name);
    expect(readme).toContain(`API_TOKENS='${API_TOKENS}' docker compose up --build`);
    expect(readme).toContain(`API_TOKENS='${API_TOKENS}' docker compose --profile demo up --build`);
    expect(containerPorts(services.okno!)).toEqual([8080]);
  });

  it("the gateway's registry reaches each partner by its service name and the port it listens on; no container is pointed at its own loopback", () => {
    const { registry } = loadPartners(path.join(projectRoot, services.okno!.environment!.PARTNERS_FILE!));
    expect(registry.partners.length).toBeGreaterThan(0);
    for (const partner of registry.partners) {
      const url = new URL(partner.endpoint!);
      expect(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0']).not.toContain(url.hostname);
      const service = services[url.hostname];
      expect(service, `${partner.id}: ${url.hostname} is a compose service`).toBeDefined();
      expect(optionOf(service!.command, '--port'), partner.id).toBe(url.port);
      expect(optionOf(service!.command, '--host'), `${partner.id} listens on every interface`).toBe('0.0.0.0');
      expect(containerPorts(service!)).toContain(Number(url.port));
    }
    // the agency answers the gateway by its service name and container port
    const gateway = new URL(optionOf(services.agency!.command, '--gateway')!);
    expect(gateway.hostname).toBe('okno');
    expect(Number(gateway.port)).toBe(8080);
    expect(optionOf(services.smev!.command, '--host')).toBe('0.0.0.0');
    // nowhere in the file (comments aside) does a container get a loopback address
    const uncommented = raw.split('\n').map((l) => l.replace(/(^|\s)#.*$/, '')).join('\n');
    expect(uncommented).not.toMatch(/127\.0\.0\.1|localhost/);
  });

  describe('the ha profile', () => {
    const ha = model(['ha']).services;
    const haproxyCfg = readFileSync(path.join(projectRoot, 'config/haproxy.cfg'), 'utf8');

    it('adds a Redis replica, three sentinels watching the primary, two gateways through them and HAProxy', () => {
      expect(Object.keys(ha).sort()).toEqual(['balancer', 'okno', 'okno-ha-1', 'okno-ha-2', 'redis', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
      expect(ha['redis-replica']!.command).toEqual(expect.arrayContaining(['--replicaof', 'redis', '6379', '--appendfsync', 'always']));
      for (const name of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
        const script = (ha[name]!.command ?? []).join(' ');
        expect(script, name).toMatch(/sentinel monitor okno redis 6379 2/);
        expect(script, name).toMatch(/redis-server \/tmp\/sentinel\.conf --sentinel/);
      }
    });

    it('the gateways find the primary through the sentinels and wait for the replica before a reply; none talks to Redis directly', () => {
      for (const name of ['okno-ha-1', 'okno-ha-2']) {
        const env = ha[name]!.environment!;
        expect(env.REDIS_URL, name).toBeUndefined();
        expect(env.REDIS_SENTINELS!.split(','), name).toEqual(['sentinel-1:26379', 'sentinel-2:26379', 'sentinel-3:26379']);
        expect(env.REDIS_SENTINEL_NAME, name).toBe('okno');
        expect(env.REDIS_WAIT_REPLICAS, name).toBe('1');
        expect(Number(env.REDIS_WAIT_TIMEOUT_MS), name).toBeGreaterThan(0);
        expect(ha[name]!.image, name).toBe(ha.okno!.image);
      }
    });

    it('HAProxy balances over both gateways by their /ready, and its configuration is valid (haproxy -c)', () => {
      expect(haproxyCfg).toMatch(/option httpchk GET \/ready/);
      expect(haproxyCfg).toMatch(/server okno-ha-1 okno-ha-1:8080/);
      expect(haproxyCfg).toMatch(/server okno-ha-2 okno-ha-2:8080/);
      expect(haproxyCfg).toMatch(/option forwardfor/);
      expect(containerPorts(ha.balancer!)).toEqual([8090]);
      expect(JSON.stringify(ha.balancer!.volumes)).toContain('haproxy.cfg');
      const check = spawnSync('haproxy', ['-c', '-f', path.join(projectRoot, 'config/haproxy.cfg')], { encoding: 'utf8' });
      if (check.error) throw new Error('haproxy is not installed (apt-get install -y haproxy; .ci/run does this): the balancer configuration is judged by HAProxy itself');
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(readme).toContain(`API_TOKENS='${API_TOKENS}' docker compose --profile ha up --build`);
    });

    it('the gateways share one journal archive (one Redis, one archive) and drain on stop longer than HAProxy takes to notice', () => {
      const archiveOf = (svc: Service) => (svc.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v)).find((v) => v.target === '/app/var/archive')?.source;
      expect(archiveOf(ha['okno-ha-1']!)).toBeDefined();
      expect(archiveOf(ha['okno-ha-2']!)).toBe(archiveOf(ha['okno-ha-1']!));
      // The single gateway's archive is a volume too, not the container's own disk, and not the HA one (another journal).
      expect(archiveOf(ha.okno!)).toBeDefined();
      expect(archiveOf(ha.okno!)).not.toBe(archiveOf(ha['okno-ha-1']!));
      const inter = Number(/inter (\d+)s/.exec(haproxyCfg)![1]) * 1000;
      const fall = Number(/fall (\d+)/.exec(haproxyCfg)![1]);
      for (const name of ['okno-ha-1', 'okno-ha-2']) expect(Number(ha[name]!.environment!.SHUTDOWN_DRAIN_MS), name).toBeGreaterThan(inter * fall);
    });

    it("the gateways believe the balancer's X-Forwarded-For, and only its: TRUSTED_PROXIES is its fixed address on the edge network", () => {
      const onEdge = (svc: Service) => (Array.isArray(svc.networks) ? svc.networks.includes('edge') : svc.networks !== undefined && 'edge' in svc.networks);
      const balancerAddress = Array.isArray(ha.balancer!.networks) ? undefined : ha.balancer!.networks?.edge?.ipv4_address;
      expect(balancerAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      for (const name of ['okno-ha-1', 'okno-ha-2']) {
        expect(ha[name]!.environment!.TRUSTED_PROXIES, name).toBe(balancerAddress);
        expect(onEdge(ha[name]!), name).toBe(true);
      }
    });
  });
});
