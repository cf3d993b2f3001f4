import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeView } from '../../domain/nodes';
import { ffrtmp, type CliResult } from '../helpers/cli';
import { DIST, REPO_ROOT, startWorker } from '../helpers/cluster';
import { exec } from '../helpers/exec';
import { TEST_KEY, masterEnv, startTestMaster, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

const GENERATE = path.join(REPO_ROOT, 'scripts', 'generate-certs.sh');

const opensslDate = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

/**
 * A client certificate signed by the CA in `caDir`, valid from `from` to `to`: `openssl ca` sets
 * both dates (OpenSSL 3.0's `x509` cannot set a start date), with the same extensions as the
 * script's client certificate.
 */
async function clientCertificate(dir: string, caDir: string, name: string, from: Date, to: Date): Promise<{ cert: string; key: string }> {
  const db = path.join(dir, `${name}-db`);
  await exec('mkdir', ['-p', db]);
  writeFileSync(path.join(db, 'index.txt'), '');
  writeFileSync(path.join(db, 'serial'), '1000\n');
  writeFileSync(path.join(db, 'ca.cnf'), [
    '[ca]', 'default_ca = test', '[test]', `database = ${db}/index.txt`, `new_certs_dir = ${db}`, `serial = ${db}/serial`,
    'default_md = sha256', 'policy = any', 'unique_subject = no', '[any]', 'commonName = supplied',
    '[client]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature,keyEncipherment', 'extendedKeyUsage = clientAuth',
  ].join('\n'));
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  const csr = await exec('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', path.join(db, 'req.csr'), '-subj', `/CN=${name}`]);
  assert.equal(csr.code, 0, csr.stderr);
  const sign = await exec('openssl', ['ca', '-batch', '-config', path.join(db, 'ca.cnf'), '-extensions', 'client', '-cert', path.join(caDir, 'ca.crt'), '-keyfile', path.join(caDir, 'ca.key'),
    '-in', path.join(db, 'req.csr'), '-out', cert, '-startdate', opensslDate(from), '-enddate', opensslDate(to), '-notext']);
  assert.equal(sign.code, 0, sign.stderr);
  return { cert, key };
}

describe('mutual TLS: generate-certs.sh, the master over HTTPS, client certificates for the CLI and workers', function () {
  this.timeout(120_000);
  let dir: string;
  let certs: string;
  let master: TestMaster;
  let expired: { cert: string; key: string };
  let current: { cert: string; key: string };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-mtls-'));
    certs = path.join(dir, 'certs');
    const made = await exec(GENERATE, ['--out', certs, '--names', 'master.local,localhost', '--ips', '127.0.0.1']);
    assert.equal(made.code, 0, made.stderr);
    const other = await exec(GENERATE, ['--out', path.join(dir, 'other')], { env: { ...process.env, FFRTMP_CERT_NAMES: 'localhost', FFRTMP_CERT_IPS: '127.0.0.1' } });
    assert.equal(other.code, 0, other.stderr);
    const day = 86_400_000;
    expired = await clientCertificate(dir, certs, 'expired', new Date('2020-01-01T00:00:00Z'), new Date('2020-01-02T00:00:00Z'));
    current = await clientCertificate(dir, certs, 'current', new Date(Date.now() - day), new Date(Date.now() + day));
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true', FFRTMP_TLS_CERT: path.join(certs, 'master.crt'), FFRTMP_TLS_KEY: path.join(certs, 'master.key'), FFRTMP_TLS_CLIENT_CA: path.join(certs, 'ca.crt') });
    assert.match(master.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });
  after(async () => master?.stop());

  /** the CLI against the TLS master, trusting our CA, from the folder that holds certs/ */
  const cli = (args: string[], env: Record<string, string> = {}) => ffrtmp(args, { cwd: dir, env: { FFRTMP_MASTER_URL: master.url, FFRTMP_TLS_CA: 'certs/ca.crt', ...env } });
  const refused = (r: CliResult, what: string) => {
    assert.equal(r.code, 3, `${what}: ${r.stderr}`);
    assert.match(r.stderr, /^error 401: missing or invalid API key: .* or use a client certificate\n$/, what);
  };

  it('generate-certs.sh: a CA, a master certificate with the names asked for, client and worker certificates, private keys', async () => {
    for (const f of ['ca', 'master', 'client', 'worker']) {
      assert.equal(statSync(path.join(certs, `${f}.key`)).mode & 0o777, 0o600, `${f}.key is private`);
      assert.ok(existsSync(path.join(certs, `${f}.crt`)));
    }
    const verify = await exec('openssl', ['verify', '-CAfile', 'ca.crt', 'master.crt', 'client.crt', 'worker.crt'], { cwd: certs });
    assert.equal(verify.code, 0, verify.stderr);
    const san = await exec('openssl', ['x509', '-in', path.join(certs, 'master.crt'), '-noout', '-ext', 'subjectAltName,extendedKeyUsage']);
    assert.match(san.stdout, /DNS:master\.local, DNS:localhost, IP Address:127\.0\.0\.1/);
    assert.match(san.stdout, /TLS Web Server Authentication/);
    const client = await exec('openssl', ['x509', '-in', path.join(certs, 'client.crt'), '-noout', '-subject', '-ext', 'extendedKeyUsage']);
    assert.match(client.stdout, /CN ?= ?ffrtmp-cli/);
    assert.match(client.stdout, /TLS Web Client Authentication/);

    // run again: everything is kept (the CA above all); bad input is refused
    const before = readFileSync(path.join(certs, 'ca.crt'), 'utf8');
    assert.equal((await exec(GENERATE, ['--out', certs])).code, 0);
    assert.equal(readFileSync(path.join(certs, 'ca.crt'), 'utf8'), before);
    const bad = await exec(GENERATE, ['--out', path.join(dir, 'bad'), '--names', 'a;b']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--names: not a DNS name: a;b/);
    assert.equal((await exec(GENERATE, ['--help'])).code, 0);
    // the default folder is never committed
    assert.equal((await exec('git', ['check-ignore', '-q', 'certs/client.key'], { cwd: REPO_ROOT })).code, 0);
  });

  it('a valid client certificate authenticates without an API key (the spec example, as written)', async () => {
    const r = await cli(['--cert', 'certs/client.crt', '--key', 'certs/client.key', 'jobs', 'status']);
    assert.equal(r.code, 0, r.stderr);
    const ok = await cli(['--cert', current.cert, '--key', current.key, '-o', 'json', 'nodes', 'list']);
    assert.equal(ok.code, 0, `a certificate made like the expired one, but current: ${ok.stderr}`);
  });

  it('refuses (401, exit 3): no certificate and no key, a certificate of another CA, an expired certificate', async () => {
    refused(await cli(['jobs', 'status']), 'nothing');
    refused(await cli(['--cert', 'other/client.crt', '--key', 'other/client.key', 'jobs', 'status']), 'another CA');
    refused(await cli(['--cert', expired.cert, '--key', expired.key, 'jobs', 'status']), 'expired');
    // a wrong key is not rescued by a certificate either, nor the reverse
    refused(await cli(['--cert', 'other/client.crt', '--key', 'other/client.key', '--api-key', 'wrong-key-0123456789abcdef', 'jobs', 'status']), 'other CA + wrong key');
  });

  it('an API key alone still works over HTTPS; an untrusted master or plain HTTP is a connection error that says what to do', async () => {
    assert.equal((await cli(['--api-key', TEST_KEY, 'jobs', 'status'])).code, 0);
    const untrusted = await ffrtmp(['--master', master.url, '--cert', 'certs/client.crt', '--key', 'certs/client.key', 'jobs', 'status'], { cwd: dir });
    assert.equal(untrusted.code, 6);
    assert.match(untrusted.stderr, /^error: cannot reach the master at https:.*pass it with --ca/);
    const plainHttp = await ffrtmp(['--master', master.url.replace('https:', 'http:'), '--api-key', TEST_KEY, 'jobs', 'status'], { cwd: dir });
    assert.equal(plainHttp.code, 6);
    assert.match(plainHttp.stderr, /does the master speak HTTPS\? try --master https:/);
    const missing = await cli(['--cert', 'certs/nope.crt', '--key', 'certs/client.key', 'jobs', 'status']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: --cert: cannot read the TLS cert file certs\/nope\.crt: ENOENT\n$/);
  });

  it('a worker registers with its certificate and no API key', async () => {
    const worker = await startWorker({
      name: 'tls-worker',
      runWorkflows: false,
      env: {
        FFRTMP_MASTER_URL: master.url,
        FFMPEG_RTMP_API_KEY: '',
        FFRTMP_TLS_CERT: path.join(certs, 'worker.crt'),
        FFRTMP_TLS_KEY: path.join(certs, 'worker.key'),
        FFRTMP_TLS_CA: path.join(certs, 'ca.crt'),
        FFRTMP_HEARTBEAT_INTERVAL_SECONDS: '1',
      },
    });
    try {
      const node = await waitFor('the worker registered over mTLS', async () => {
        const r = await cli(['--cert', 'certs/client.crt', '--key', 'certs/client.key', '-o', 'json', 'nodes', 'show', worker.nodeId]);
        return r.code === 0 ? (JSON.parse(r.stdout) as NodeView) : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      assert.equal(node.name, 'tls-worker');
      assert.ok(worker.logs.some((l) => l.includes('registered with the master')));
    } finally {
      await worker.stop();
    }
  });

  it('the master refuses to start when TLS is misconfigured, saying what to fix', async () => {
    const c = (f: string) => path.join(certs, f);
    const cases: [string, Record<string, string>, RegExp][] = [
      ['client CA without TLS', { FFRTMP_TLS_CLIENT_CA: c('ca.crt') }, /FFRTMP_TLS_CLIENT_CA is set but TLS is not: set FFRTMP_TLS_CERT and FFRTMP_TLS_KEY too/],
      ['certificate without key', { FFRTMP_TLS_CERT: c('master.crt') }, /TLS needs both FFRTMP_TLS_CERT and FFRTMP_TLS_KEY/],
      ['key of another certificate', { FFRTMP_TLS_CERT: c('master.crt'), FFRTMP_TLS_KEY: c('client.key') }, /FFRTMP_TLS_KEY \(.*client\.key\) does not belong to FFRTMP_TLS_CERT \(.*master\.crt\)/],
      ['unreadable certificate', { FFRTMP_TLS_CERT: c('nope.crt'), FFRTMP_TLS_KEY: c('master.key') }, /FFRTMP_TLS_CERT: cannot read .*nope\.crt: ENOENT/],
      ['a key as the client CA', { FFRTMP_TLS_CERT: c('master.crt'), FFRTMP_TLS_KEY: c('master.key'), FFRTMP_TLS_CLIENT_CA: c('ca.key') }, /FFRTMP_TLS_CLIENT_CA: .*ca\.key holds no PEM certificate/],
      ['an expired certificate', { FFRTMP_TLS_CERT: expired.cert, FFRTMP_TLS_KEY: expired.key }, /FFRTMP_TLS_CERT: .*expired\.crt expired on 2020-01-02T00:00:00\.000Z/],
    ];
    const results = await Promise.all(
      cases.map(async ([, env]) => exec(process.execPath, [path.join(DIST, 'api', 'server.js')], { env: { ...process.env, ...(await masterEnv(env)), LOG_FORMAT: 'json' } })),
    );
    results.forEach((r, i) => {
      const [what, , re] = cases[i]!;
      assert.equal(r.code, 2, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, re, what);
    });
  });
});
