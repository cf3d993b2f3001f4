/**
 * The master under a fuzzer (issue 13): schemathesis (PyPI, pinned in scripts/lib/setup.sh, installed
 * into .tools/) generates requests from the master's own /openapi.json — examples, coverage, fuzzing
 * and the stateful phase, which follows the document's links from POST /jobs and POST /nodes/register
 * to the routes of what they created — and runs every check: no 5xx, no answer outside the
 * documented schema, no schema-valid request refused (test/fuzz/schemathesis.toml says which
 * statuses are state-dependent refusals). A Temporal dev server of its own, so the thousands of
 * jobs it makes load nothing else; a fixed seed (FFRTMP_FUZZ_SEED another), so a failure is reproducible.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer, type DevServer } from '../../lib/dev-server';
import { REPO_ROOT, temporalCliPath } from '../helpers/cluster';
import { TEST_KEY, startTestMaster, type TestMaster } from '../helpers/master';

/** Where scripts/lib/setup.sh (test profile) installs schemathesis. */
const SCHEMATHESIS = process.env.FFRTMP_SCHEMATHESIS ?? path.join(REPO_ROOT, '.tools', 'schemathesis', 'bin', 'schemathesis');
/** Examples per operation and phase, and the time the fuzzing and stateful phases repeat for. */
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const MAX_EXAMPLES = 25;
const MAX_SECONDS = 60;

describe('the master under a fuzzer: schemathesis from its OpenAPI document, all checks, stateful phase on', function () {
  this.timeout(600_000);
  let server: DevServer;
  let master: TestMaster;
  before(async function () {
    assert.ok(existsSync(SCHEMATHESIS), `${SCHEMATHESIS} is missing: scripts/test.sh installs it (scripts/lib/setup.sh)`);
    const root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-fuzz-'));
    server = await startDevServer({ temporalCli: temporalCliPath(), dataDir: path.join(root, 'temporal'), port: await freePort(), headless: true });
    master = await startTestMaster({ TEMPORAL_ADDRESS: server.address, FFRTMP_DATA_DIR: path.join(root, 'data'), FFRTMP_RUN_WORKFLOWS: 'true' });
  });
  after(async () => {
    await master?.stop();
    await server?.stop();
  });

  it('finds no 5xx, no answer outside the schema, and no schema-valid request refused', async () => {
    const args = [
      'run', `${master.url}/openapi.json`,
      '--checks', 'all',
      // DELETE /nodes/{id} drains (docs/API.md, "Remove Node"): the node is gone once its agent has
      // finished its work, so a GET right after it answers the draining node, by design
      '--exclude-checks', 'use_after_free',
      '--phases', 'examples,coverage,fuzzing,stateful',
      '--max-examples', String(MAX_EXAMPLES),
      '--max-time', String(MAX_SECONDS),
      '--seed', process.env.FFRTMP_FUZZ_SEED ?? '13',
      '--header', `X-API-Key: ${TEST_KEY}`,
      '--request-timeout', '30',
      '--workers', '2',
      '--max-failures', '20',
      '--no-color',
    ];
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(SCHEMATHESIS, args, {
        cwd: path.join(REPO_ROOT, 'test', 'fuzz'),
        env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, 'test', 'fuzz'), SCHEMATHESIS_HOOKS: 'hooks', NO_COLOR: '1' },
        timeout: 540_000,
        maxBuffer: 64 * 1024 * 1024,
      }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, 'fuzz-schemathesis.txt'), r.out);
    const summary = r.out.split('\n').filter((l) => /test cases|operations|Stateful|passed|failed|errored|Seed/i.test(l)).slice(-12).join('\n');
    process.stdout.write(`${summary.replace(/^/gm, '      ')}\n`);
    assert.equal(r.code, 0, `schemathesis found problems (all of its output: test-artifacts/fuzz-schemathesis.txt):\n${r.out.slice(-4_000)}`);
    // the run reached the job routes through the links, not only the entry points
    assert.match(r.out, /Stateful/i);
  });
});
