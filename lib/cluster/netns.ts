/**
 * The project's own test network: a Linux bridge with a private /24, and one network namespace
 * per host, joined to the bridge by a veth pair. Only these namespaces and the bridge are ever
 * addressed. Cutting a host off is `ip link set <its veth> down`: its processes keep running but
 * no packet reaches them or leaves them. Needs root (ip netns).
 */
import { execFile } from 'node:child_process';

export interface NetworkPlan {
  /** short name prefix for namespaces and links (at most 5 characters: link names max 15) */
  prefix: string;
  /** the first three octets of the /24, e.g. "10.77.13" */
  subnet: string;
}

export interface Host {
  name: string;
  /** network namespace */
  netns: string;
  address: string;
  /** the veth end on the bridge side: down = cut off */
  hostLink: string;
}

function ip(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

export class TestNetwork {
  readonly bridge: string;
  readonly gateway: string;
  private readonly hosts = new Map<string, Host>();

  constructor(readonly plan: NetworkPlan) {
    if (!/^[a-z][a-z0-9]{0,4}$/.test(plan.prefix)) throw new Error(`network prefix must be 1-5 lowercase letters/digits: ${plan.prefix}`);
    if (!/^(10|172\.(1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}(\.\d{1,3})?$/.test(plan.subnet) || plan.subnet.split('.').length !== 3) {
      throw new Error(`subnet must be the first three octets of a private /24, e.g. 10.77.13: ${plan.subnet}`);
    }
    this.bridge = `${plan.prefix}-br`;
    this.gateway = `${plan.subnet}.1`;
  }

  /** Namespaces of this prefix that exist now (a previous run that did not clean up). */
  async existingNamespaces(): Promise<string[]> {
    const out = await ip(['netns', 'list']);
    return out
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n.startsWith(`${this.plan.prefix}-`));
  }

  async bridgeExists(): Promise<boolean> {
    return ip(['link', 'show', this.bridge]).then(() => true, () => false);
  }

  /** The bridge with the gateway address. Refuses a subnet that another interface already uses. */
  async create(): Promise<void> {
    const routes = await ip(['-4', 'route', 'show', `${this.plan.subnet}.0/24`]);
    if (routes.trim() && !routes.includes(this.bridge)) {
      throw new Error(`subnet ${this.plan.subnet}.0/24 is already in use on this machine (${routes.trim()}); choose another`);
    }
    await this.destroy();
    await ip(['link', 'add', this.bridge, 'type', 'bridge']);
    await ip(['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    await ip(['link', 'set', this.bridge, 'up']);
  }

  /** A host: its namespace, its veth pair on the bridge, its address, loopback up. */
  async addHost(name: string, lastOctet: number): Promise<Host> {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`host name must be 1-8 lowercase letters/digits: ${name}`);
    const netns = `${this.plan.prefix}-${name}`;
    const host: Host = { name, netns, address: `${this.plan.subnet}.${lastOctet}`, hostLink: `${netns}-h` };
    const inside = `${netns}-n`;
    await ip(['netns', 'add', netns]);
    await ip(['link', 'add', host.hostLink, 'type', 'veth', 'peer', 'name', inside]);
    await ip(['link', 'set', inside, 'netns', netns]);
    await ip(['link', 'set', host.hostLink, 'master', this.bridge, 'up']);
    await ip(['-n', netns, 'addr', 'add', `${host.address}/24`, 'dev', inside]);
    await ip(['-n', netns, 'link', 'set', inside, 'up']);
    await ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', netns, 'route', 'add', 'default', 'via', this.gateway]);
    this.hosts.set(name, host);
    return host;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in this network`);
    return h;
  }

  /** Adopts the hosts of a network created by another process (cluster.sh down, status). */
  remember(host: Host): void {
    this.hosts.set(host.name, host);
  }

  /** Cuts a host off the network (its processes keep running). */
  async cut(name: string): Promise<void> {
    await ip(['link', 'set', this.host(name).hostLink, 'down']);
  }

  async restore(name: string): Promise<void> {
    await ip(['link', 'set', this.host(name).hostLink, 'up']);
  }

  /** argv prefix that runs a command inside a host's namespace. */
  execPrefix(name: string): string[] {
    return ['ip', 'netns', 'exec', this.host(name).netns];
  }

  /** Removes every namespace of this prefix and the bridge (veth pairs go with their namespace). */
  async destroy(): Promise<void> {
    for (const ns of await this.existingNamespaces()) await ip(['netns', 'del', ns]).catch(() => undefined);
    if (await this.bridgeExists()) await ip(['link', 'del', this.bridge]);
    this.hosts.clear();
  }
}
