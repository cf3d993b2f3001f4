import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from '../../cli/exit-codes';
import { DEFAULTS, configFileLocation, loadConfigFile, resolveSettings } from '../../cli/config';

const none = { file: null, config: {} };

describe('cli config: flag > env > config file > default', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-cli-config-'));

  it('defaults when nothing is given', () => {
    const s = resolveSettings({}, {}, none);
    assert.equal(s.masterUrl, DEFAULTS.masterUrl);
    assert.equal(s.apiKey, undefined);
    assert.equal(s.output, 'table');
    assert.equal(s.via, 'http');
    assert.deepEqual(s.temporal, { address: '127.0.0.1:7233', namespace: 'default' });
    assert.equal(s.sources.masterUrl, 'default');
  });

  it('each layer wins over the ones below it, for every setting', () => {
    const file = {
      file: '/etc/x.yaml',
      config: { master_url: 'http://file:1', api_key: 'file-key', cert: '/f/c.crt', key: '/f/c.key', ca: '/f/ca.crt', output: 'json' as const, via: 'temporal' as const, temporal_address: 'file:7233', namespace: 'file-ns' },
    };
    const env = {
      FFRTMP_MASTER_URL: 'http://env:1', FFMPEG_RTMP_API_KEY: 'env-key', FFRTMP_TLS_CERT: '/e/c.crt', FFRTMP_TLS_KEY: '/e/c.key', FFRTMP_TLS_CA: '/e/ca.crt',
      FFRTMP_OUTPUT: 'table', FFRTMP_VIA: 'http', TEMPORAL_ADDRESS: 'env:7233', TEMPORAL_NAMESPACE: 'env-ns',
    };
    const flags = { master: 'https://flag:1', apiKey: 'flag-key', cert: '/l/c.crt', key: '/l/c.key', ca: '/l/ca.crt', output: 'json', via: 'temporal', temporalAddress: 'flag:7233', namespace: 'flag-ns' };

    const fromFile = resolveSettings({}, {}, file);
    assert.deepEqual([fromFile.masterUrl, fromFile.apiKey, fromFile.tls.cert, fromFile.output, fromFile.via, fromFile.temporal.address, fromFile.temporal.namespace], ['http://file:1', 'file-key', '/f/c.crt', 'json', 'temporal', 'file:7233', 'file-ns']);
    assert.equal(fromFile.sources.apiKey, 'config');

    const fromEnv = resolveSettings({}, env, file);
    assert.deepEqual([fromEnv.masterUrl, fromEnv.apiKey, fromEnv.tls.cert, fromEnv.tls.key, fromEnv.tls.ca, fromEnv.output, fromEnv.via, fromEnv.temporal.address, fromEnv.temporal.namespace], ['http://env:1', 'env-key', '/e/c.crt', '/e/c.key', '/e/ca.crt', 'table', 'http', 'env:7233', 'env-ns']);
    assert.equal(fromEnv.sources.masterUrl, 'env');

    const fromFlags = resolveSettings(flags, env, file);
    assert.deepEqual([fromFlags.masterUrl, fromFlags.apiKey, fromFlags.tls.cert, fromFlags.tls.key, fromFlags.tls.ca, fromFlags.output, fromFlags.via, fromFlags.temporal.address, fromFlags.temporal.namespace], ['https://flag:1', 'flag-key', '/l/c.crt', '/l/c.key', '/l/ca.crt', 'json', 'temporal', 'flag:7233', 'flag-ns']);
    assert.equal(fromFlags.sources.masterUrl, 'flag');
  });

  it('an empty environment variable counts as unset; a comma-separated key list presents its first key', () => {
    assert.equal(resolveSettings({}, { FFRTMP_MASTER_URL: '' }, none).masterUrl, DEFAULTS.masterUrl);
    assert.equal(resolveSettings({}, { FFMPEG_RTMP_API_KEY: 'first-key-000000, second-key-00000' }, none).apiKey, 'first-key-000000');
  });

  it('refuses what cannot work: a bad URL, an unknown output or backend, a certificate without its key', () => {
    const usage = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof CliError && e.exitCode === 2 && re.test(e.message));
    usage(() => resolveSettings({ master: 'not a url' }, {}, none), /--master: "not a url" is not a URL \(from --master\)/);
    usage(() => resolveSettings({}, { FFRTMP_MASTER_URL: 'ftp://x' }, none), /http:\/\/ or https:\/\//);
    usage(() => resolveSettings({}, { FFRTMP_OUTPUT: 'yaml' }, none), /--output: "yaml" is not one of table, json \(from FFRTMP_OUTPUT\)/);
    usage(() => resolveSettings({}, { FFRTMP_VIA: 'carrier-pigeon' }, none), /--via/);
    usage(() => resolveSettings({ cert: 'c.crt' }, {}, none), /--cert and --key go together/);
  });

  it('reads the YAML file; certificate paths are relative to the file; ~ is the home folder', () => {
    const f = path.join(dir, 'sub', 'config.yaml');
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, 'master_url: https://master.local:8080\napi_key: k-0123456789abcdef\ncert: certs/client.crt\nkey: ~/keys/client.key\nca: /abs/ca.crt\n');
    const { file, config } = loadConfigFile(f, true, '/home/op');
    assert.equal(file, f);
    assert.deepEqual(config, {
      master_url: 'https://master.local:8080',
      api_key: 'k-0123456789abcdef',
      cert: path.join(dir, 'sub', 'certs', 'client.crt'),
      key: '/home/op/keys/client.key',
      ca: '/abs/ca.crt',
    });
  });

  it('the default file may be missing; a file asked for must exist; typos and bad YAML are usage errors', () => {
    assert.deepEqual(loadConfigFile('~/.ffrtmp/config.yaml', false, dir), { file: null, config: {} });
    const usage = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof CliError && e.exitCode === 2 && re.test(e.message));
    usage(() => loadConfigFile(path.join(dir, 'missing.yaml'), true, dir), /cannot read it \(ENOENT\)/);
    const typo = path.join(dir, 'typo.yaml');
    writeFileSync(typo, 'master: http://x\n');
    usage(() => loadConfigFile(typo, true, dir), /unknown field: master/);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'master_url: [unclosed\n');
    usage(() => loadConfigFile(bad, true, dir), /not valid YAML/);
    const wrongType = path.join(dir, 'wrong.yaml');
    writeFileSync(wrongType, 'output: yaml\n');
    usage(() => loadConfigFile(wrongType, true, dir), /output: /);
    if (process.getuid?.() !== 0) {
      const unreadable = path.join(dir, 'unreadable.yaml');
      writeFileSync(unreadable, 'output: json\n');
      chmodSync(unreadable, 0o000);
      usage(() => loadConfigFile(unreadable, false, dir), /EACCES/);
    }
  });

  it('--config beats FFRTMP_CONFIG beats ~/.ffrtmp/config.yaml', () => {
    assert.deepEqual(configFileLocation({ config: 'a.yaml' }, { FFRTMP_CONFIG: 'b.yaml' }), { file: 'a.yaml', explicit: true });
    assert.deepEqual(configFileLocation({}, { FFRTMP_CONFIG: 'b.yaml' }), { file: 'b.yaml', explicit: true });
    assert.deepEqual(configFileLocation({}, {}), { file: DEFAULTS.configFile, explicit: false });
  });
});
