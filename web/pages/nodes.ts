/**
 * Nodes: GET /nodes every 3 s (the registry has no event stream), each node's row updated in place
 * so a focused Drain button stays focused; heartbeat ages tick every second between reads.
 */
import { api } from '../api.js';
import { DASH, age, h, notice, num, setText, statusBadge } from '../dom.js';
import type { NodeList, NodeView } from '../types.js';

interface Row {
  tr: HTMLTableRowElement;
  cells: HTMLTableCellElement[];
  drain: HTMLButtonElement;
  node: NodeView;
}

export async function nodesPage(main: HTMLElement, signal: AbortSignal): Promise<void> {
  const message = h('div', { class: 'messages' });
  const tbody = h('tbody');
  const wrap = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Nodes', tabindex: 0 });
  main.append(h('h1', {}, 'Nodes'), message, wrap);
  const rows = new Map<string, Row>();
  const cols = ['Node', 'Status', 'Capabilities', 'Simulated', 'CPU', 'GPU', 'Heartbeat', 'Running', 'Power · source', 'Version', ''];
  const table = h('table', { class: 'nodes' }, h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col' }, c)))), tbody);

  const drain = async (row: Row): Promise<void> => {
    row.drain.disabled = true;
    try {
      const node = await api<NodeView>('DELETE', `/nodes/${encodeURIComponent(row.node.id)}`, undefined, signal);
      message.replaceChildren(notice('info', `${node.name} is draining: it takes no new work; its running jobs finish.`));
      row.node = node;
      fill(row);
    } catch (err) {
      row.drain.disabled = false;
      message.replaceChildren(notice('error', `Could not drain ${row.node.name}: ${(err as Error).message}`));
    }
  };

  const load = async (): Promise<void> => {
    let list: NodeList;
    try {
      list = await api<NodeList>('GET', '/nodes', undefined, signal);
    } catch (err) {
      if (!signal.aborted) wrap.replaceChildren(notice('error', `Could not list the nodes: ${(err as Error).message}`));
      return;
    }
    if (list.nodes.length === 0) return void wrap.replaceChildren(notice('info', 'No nodes registered. Start a worker agent (docs/DEPLOYMENT.md); it appears here within seconds.'));
    const seen = new Set<string>();
    for (const node of list.nodes) {
      seen.add(node.id);
      let row = rows.get(node.id);
      if (!row) {
        const cells = cols.map(() => h('td', {}));
        const button = h('button', { type: 'button', class: 'danger' }, 'Drain');
        const created: Row = { tr: h('tr', { 'data-node-id': node.id }, ...cells), cells, drain: button, node };
        button.addEventListener('click', () => void drain(created));
        cells.at(-1)!.append(button);
        rows.set(node.id, (row = created));
      }
      row.node = node;
      fill(row);
    }
    for (const id of rows.keys()) if (!seen.has(id)) rows.delete(id);
    tbody.replaceChildren(...list.nodes.map((n) => rows.get(n.id)!.tr));
    if (table.parentElement !== wrap) wrap.replaceChildren(table);
  };

  await load();
  const poll = window.setInterval(() => void load(), 3_000);
  const tick = window.setInterval(() => rows.forEach((r) => setText(r.cells[6]!, age(r.node.last_heartbeat))), 1_000);
  signal.addEventListener('abort', () => {
    window.clearInterval(poll);
    window.clearInterval(tick);
  });
}

function fill(row: Row): void {
  const n = row.node;
  const c = row.cells;
  if (c[0]!.childElementCount === 0) c[0]!.append(h('strong', {}, n.name), h('div', { class: 'muted ellipsis' }, n.id));
  c[1]!.replaceChildren(statusBadge(n.status));
  setText(c[2]!, n.capabilities.filter((x) => !n.simulated_capabilities.includes(x)).join(', ') || DASH);
  setText(c[3]!, n.simulated_capabilities.join(', ') || DASH);
  setText(c[4]!, `${n.cpu_threads} threads · ${n.cpu_model}`);
  setText(c[5]!, n.has_gpu ? (n.gpu_type ?? 'yes') : DASH);
  setText(c[6]!, age(n.last_heartbeat));
  setText(c[7]!, String(n.load?.running_jobs ?? 0));
  // the source says how the figure is known (a sensor, or an estimate); older workers do not send it
  const watts = n.load?.power_watts;
  setText(c[8]!, watts === null || watts === undefined ? DASH : `${num(watts)} W${n.load?.power_source ? ` · ${n.load.power_source}` : ''}`);
  setText(c[9]!, n.version);
  row.drain.disabled = n.drain_requested || n.status === 'drained';
  setText(row.drain, n.drain_requested ? 'Draining' : 'Drain');
  row.drain.setAttribute('aria-label', `Drain ${n.name}`);
}
