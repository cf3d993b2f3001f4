/**
 * docs/DEPLOYMENT.md against the code: its settings table is exactly what scripts/settings-table.ts
 * generates from the schemas, every variable the processes read is in it, and the parts that name
 * code facts (dashboards and panels, backup paths, the certificates script) say what the code does.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { devServerArgs } from '../../lib/dev-server';
import { settings, withTable } from '../../scripts/settings-table';
import { REPO_ROOT } from '../helpers/cluster';
import { dashboards, readRepoFile } from '../helpers/deploy';

/** Folders whose code runs in the master or a worker agent. */
const RUNTIME_DIRS = ['api', 'workers', 'lib', 'activities', 'domain', 'encoders', 'workflows'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

describe('deploy: docs/DEPLOYMENT.md', () => {
  const doc = readRepoFile('docs/DEPLOYMENT.md');

  it('has the settings table the schemas generate (run `node dist/scripts/settings-table.js --write` after changing a setting)', () => {
    assert.equal(doc, withTable(doc));
  });

  it('lists every environment variable the master and worker code reads', () => {
    const documented = new Set(settings().map((s) => s.name));
    const read = new Set<string>();
    // lib/cluster is the tooling of scripts/cluster.sh and the topology tests, not master or worker code
    const tooling = path.join(REPO_ROOT, 'lib', 'cluster') + path.sep;
    for (const file of RUNTIME_DIRS.flatMap((d) => sources(path.join(REPO_ROOT, d))).filter((f) => !f.startsWith(tooling))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(?:process\.)?env(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)) read.add(m[1] ?? m[2]!);
    }
    assert.ok(read.has('LOG_LEVEL') && read.has('FFRTMP_WORKFLOW_BUNDLE'), 'the scan finds reads');
    const missing = [...read].filter((n) => !documented.has(n));
    assert.deepEqual(missing, [], `read by the code but not in the settings table: ${missing.join(', ')}`);
  });

  it('names every Grafana dashboard and panel as they are', () => {
    for (const { dashboard } of dashboards()) {
      assert.ok(doc.includes(`*${dashboard.title}*`), `the doc names the dashboard "${dashboard.title}"`);
      const section = doc.slice(doc.indexOf(`*${dashboard.title}*`)).split('\n  - ')[0]!.toLowerCase().replace(/\s+/g, ' ');
      for (const p of dashboard.panels) assert.ok(section.includes(p.title.toLowerCase()), `"${dashboard.title}" lists the panel "${p.title}"`);
    }
  });

  it('says how to back up what holds state: both PostgreSQL databases and the dev server\'s SQLite file', () => {
    assert.match(doc, /pg_dump [^\n]*\btemporal\s/);
    assert.match(doc, /pg_dump [^\n]*\btemporal_visibility\b/);
    const sqlite = devServerArgs({ dataDir: 'data/temporal', port: 7233, uiPort: 8233, headless: true, ip: '127.0.0.1', namespace: 'default' });
    const dbFile = sqlite[sqlite.indexOf('--db-filename') + 1]!;
    assert.ok(doc.includes(`\`${dbFile}\``), `the doc names the dev server's database file ${dbFile}`);
  });

  it('covers scaling across machines, TLS with scripts/generate-certs.sh, and keys', () => {
    for (const heading of ['## Scaling workers across machines', '## TLS and keys', '## Backups', '## Settings', '## systemd (many machines)', '## Docker Compose']) {
      assert.ok(doc.includes(heading), heading);
    }
    assert.match(doc, /scripts\/generate-certs\.sh/);
    assert.match(readRepoFile('README.md'), /docs\/DEPLOYMENT\.md/, 'the README points here');
  });
});
