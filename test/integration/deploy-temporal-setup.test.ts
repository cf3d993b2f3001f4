/**
 * The compose stack's one-shot Temporal setup (deploy/temporal/setup-namespace.sh), run for real
 * against the test run's Temporal server with the `temporal` CLI: it creates a fresh namespace and
 * exactly the search attributes docker-compose.yml lists (which the compose test keeps equal to the
 * code's), and a second run changes nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { searchAttributeDefinitions } from '../../domain/search-attributes';
import { REPO_ROOT, cluster, temporalCliPath } from '../helpers/cluster';
import { readYaml } from '../helpers/deploy';

function runSetup(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const cli = temporalCliPath();
  const PATH = cli.includes('/') ? `${path.dirname(cli)}:${process.env.PATH}` : process.env.PATH!;
  return new Promise((resolve) => {
    execFile('/bin/sh', [path.join(REPO_ROOT, 'deploy/temporal/setup-namespace.sh')], { env: { PATH, HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 150_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

describe('deploy: Temporal namespace and search attribute setup', function () {
  this.timeout(180_000);

  it('creates the namespace and every search attribute with its type, and is safe to run again', async () => {
    const { server, client } = await cluster();
    const compose = readYaml<{ services: Record<string, { environment: Record<string, string> }> }>('docker-compose.yml');
    const env = {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: `deploy-test-${randomUUID().slice(0, 8)}`,
      NAMESPACE_RETENTION: '1d',
      SEARCH_ATTRIBUTES: compose.services['temporal-setup']!.environment.SEARCH_ATTRIBUTES!,
    };
    const first = await runSetup(env);
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, new RegExp(`creating namespace ${env.TEMPORAL_NAMESPACE}`));

    const listed = await client.connection.operatorService.listSearchAttributes({ namespace: env.TEMPORAL_NAMESPACE });
    const typeName = (t: temporal.api.enums.v1.IndexedValueType) => temporal.api.enums.v1.IndexedValueType[t]!.replace('INDEXED_VALUE_TYPE_', '').toLowerCase();
    for (const { name, type } of searchAttributeDefinitions()) {
      const got = listed.customAttributes?.[name];
      assert.ok(got !== undefined, `${name} exists in ${env.TEMPORAL_NAMESPACE}`);
      assert.equal(typeName(got), type.toLowerCase(), `${name} is ${type}`);
    }

    const second = await runSetup(env);
    assert.equal(second.code, 0, second.output);
    assert.match(second.output, new RegExp(`namespace ${env.TEMPORAL_NAMESPACE} exists`));
    assert.doesNotMatch(second.output, /creating/);
  });
});
