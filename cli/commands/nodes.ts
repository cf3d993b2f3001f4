/** `ffrtmp nodes …`: the worker nodes the master knows (list, show, remove = drain). */
import type { Command } from 'commander';
import type { NodeWire } from '../../domain/api-schemas';
import { formatBytes, formatTime, type Output } from '../output';
import { addGlobalOptions, examples, withSession, type Runtime } from '../session';

/** "3 s ago", from an ISO time. */
export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : formatTime(iso);
}

const NODE_STYLE: Record<string, Parameters<Output['paint']>[0]> = { online: 'green', busy: 'cyan', draining: 'yellow', drained: 'yellow', offline: 'red' };

export const NODE_LIST_HEAD = ['ID', 'NAME', 'STATUS', 'CPU', 'GPU', 'CAPABILITIES', 'JOBS', 'HEARTBEAT'];

export function nodeRow(n: NodeWire, out: Output, now = Date.now()): string[] {
  const style = NODE_STYLE[n.status];
  return [
    n.id,
    n.name,
    style ? out.paint(style, n.status) : n.status,
    String(n.cpu_threads),
    n.has_gpu ? (n.gpu_type ?? 'yes') : '-',
    n.capabilities.join(','),
    String(n.load?.running_jobs ?? 0),
    age(n.last_heartbeat, now),
  ];
}

export function nodeDetails(n: NodeWire, out: Output): [string, string | null][] {
  const style = NODE_STYLE[n.status];
  return [
    ['ID', n.id],
    ['Name', n.name],
    ['Address', n.address],
    ['Status', `${style ? out.paint(style, n.status) : n.status}${n.drain_requested ? ' (drain requested)' : ''}`],
    ['CPU', `${n.cpu_threads} threads, ${n.cpu_model}`],
    ['GPU', n.has_gpu ? `${n.gpu_type ?? 'yes'}${n.gpu_capabilities.length > 0 ? ` (${n.gpu_capabilities.join(', ')})` : ''}` : 'none'],
    ['Memory', formatBytes(n.ram_total_bytes)],
    ['Capabilities', n.capabilities.join(', ') + (n.simulated_capabilities.length > 0 ? ` (simulated: ${n.simulated_capabilities.join(', ')})` : '')],
    ['Encoders', n.encoders.join(', ')],
    ['Load', n.load ? `${n.load.running_jobs} jobs${n.load.cpu_percent !== null ? `, CPU ${n.load.cpu_percent.toFixed(0)}%` : ''}${n.load.power_watts !== null ? `, ${n.load.power_watts.toFixed(0)} W${n.load.power_source ? ` (${n.load.power_source})` : ''}` : ''}` : null],
    ['Registered', formatTime(n.registered_at)],
    ['Heartbeat', `${age(n.last_heartbeat)} (every ${n.heartbeat_interval_seconds} s)`],
    ['Version', n.version],
  ];
}

export function registerNodes(program: Command, rt: Runtime): Command {
  const nodes = program
    .command('nodes')
    .description('the worker nodes registered with the master')
    .addHelpText('after', examples([
      ['ffrtmp nodes list', 'every node with its status and load'],
      ['ffrtmp nodes show worker-1.local-9091', 'one node in detail'],
      ['ffrtmp nodes remove worker-1.local-9091', 'drain a node: no new work, running jobs finish, then it is removed'],
    ]));

  const list = nodes
    .command('list')
    .description('every node with its status and load')
    .addHelpText('after', examples([['ffrtmp nodes list', 'the nodes'], ['ffrtmp -o json nodes list', 'as the API returns them']]))
    .action((_opts: unknown, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const r = await api.listNodes();
        if (out.json) return out.printJson(r);
        if (r.nodes.length === 0) out.note('no nodes registered');
        else out.table(NODE_LIST_HEAD, r.nodes.map((n) => nodeRow(n, out)));
      }),
    );
  addGlobalOptions(list, true);

  const show = nodes
    .command('show')
    .description('one node in detail')
    .argument('<id>', 'node id (nodes list shows them)')
    .addHelpText('after', examples([['ffrtmp nodes show worker-1.local-9091', 'one node']]))
    .action((id: string, _opts: unknown, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const n = await api.getNode(id);
        if (out.json) out.printJson(n);
        else out.details(nodeDetails(n, out));
      }),
    );
  addGlobalOptions(show, true);

  const remove = nodes
    .command('remove')
    .description('drain a node: it takes no new work, its running jobs finish, then it is removed')
    .argument('<id>', 'node id')
    .addHelpText('after', examples([['ffrtmp nodes remove worker-1.local-9091', 'drain and remove a node']]))
    .action((id: string, _opts: unknown, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const n = await api.removeNode(id);
        if (out.json) out.printJson(n);
        else out.line(`node ${n.id} ${n.status}: it takes no new work; running jobs finish, then it is removed`);
      }),
    );
  addGlobalOptions(remove, true);
  return nodes;
}
