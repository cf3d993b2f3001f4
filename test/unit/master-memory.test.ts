import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { DIST_ROOT, MASTER_SCRIPT, nodeCommand } from '../../lib/launch';
import { MASTER_HEAP_MB, MASTER_NODE_FLAGS } from '../../lib/master-memory';

describe('the master\'s heap caps (lib/master-memory.ts)', () => {
  it('every master started here gets them, and nothing else does', () => {
    assert.deepEqual(nodeCommand(MASTER_SCRIPT), [process.execPath, ...MASTER_NODE_FLAGS, path.join(DIST_ROOT, MASTER_SCRIPT)]);
    assert.deepEqual(nodeCommand('workers/agent.js'), [process.execPath, path.join(DIST_ROOT, 'workers/agent.js')]);
  });

  it('a process started with them has the capped heap and no warning; one without is warned', () => {
    const probe = `const m = require(${JSON.stringify(path.join(DIST_ROOT, 'lib/master-memory.js'))});
      console.log(JSON.stringify({ limit: require('node:v8').getHeapStatistics().heap_size_limit / 2 ** 20, warning: m.heapSizingWarning() }))`;
    const capped = JSON.parse(execFileSync(process.execPath, [...MASTER_NODE_FLAGS, '-e', probe]).toString()) as { limit: number; warning: string | null };
    assert.ok(capped.limit <= MASTER_HEAP_MB * 1.1, `heap limit ${capped.limit} MiB`);
    assert.equal(capped.warning, null);
    const plain = JSON.parse(execFileSync(process.execPath, ['--max-old-space-size=1024', '-e', probe]).toString()) as { warning: string | null };
    assert.match(plain.warning ?? '', /started without its heap caps .*--max-old-space-size=128/);
  });

  it('the workflow thread a master starts later gets the same caps', () => {
    const probe = `require(${JSON.stringify(path.join(DIST_ROOT, 'lib/master-memory.js'))}).sizeWorkflowThreadHeap();
      new (require('node:worker_threads').Worker)("console.log(require('node:v8').getHeapStatistics().heap_size_limit / 2 ** 20)", { eval: true });`;
    const limit = Number(execFileSync(process.execPath, ['--max-old-space-size=1024', '-e', probe]).toString());
    assert.ok(limit <= MASTER_HEAP_MB * 1.1, `thread heap limit ${limit} MiB`);
  });
});
