import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { DEFAULT_DELIVERY_POLICY, deliveryBackoffMs, eventBody, jobEventId, wants } from '../../domain/webhooks';
import { DestinationRefused, checkDestination, isBlockedAddress } from '../../lib/webhook-http';
import { signatureHeader, webhookSecret } from '../../lib/webhook-secrets';

describe('webhooks: destinations, matching, secrets, backoff', () => {
  it('refuses loopback, private, link-local, shared, multicast and reserved addresses; public ones pass', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-address']) {
      assert.equal(isBlockedAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) assert.equal(isBlockedAddress(a), false, a);
  });

  it('checks every resolved address, allows listed hosts, names the address and the setting', async () => {
    await assert.rejects(checkDestination(new URL('http://10.2.3.4/x'), []), (e: Error) => e instanceof DestinationRefused && /10\.2\.3\.4.*FFRTMP_WEBHOOK_ALLOW_HOSTS/.test(e.message));
    // a name is resolved: localhost is loopback whatever its spelling
    await assert.rejects(checkDestination(new URL('http://LocalHost:8080/x'), ['127.0.0.1']), /localhost resolves to (127\.0\.0\.1|::1)/);
    assert.deepEqual(await checkDestination(new URL('http://127.0.0.1:9/x'), ['127.0.0.1']), { address: '127.0.0.1', family: 4 });
    assert.equal((await checkDestination(new URL('http://localhost/x'), ['localhost'])).address.length > 0, true);
    await assert.rejects(checkDestination(new URL('http://no-such-host.invalid/'), []), /does not resolve/);
  });

  it('matches event types (or *), queues and scenarios', () => {
    const job = { queue: 'live', scenario: '720p30-h264' };
    assert.equal(wants({ events: ['*'], queues: [], scenarios: [] }, 'job.running', job), true);
    assert.equal(wants({ events: ['job.completed'], queues: [], scenarios: [] }, 'job.running', job), false);
    assert.equal(wants({ events: ['job.running'], queues: ['batch'], scenarios: [] }, 'job.running', job), false);
    assert.equal(wants({ events: ['job.running'], queues: ['live'], scenarios: ['720p30-h264'] }, 'job.running', job), true);
    assert.equal(wants({ events: ['*'], queues: [], scenarios: ['4K60-h264'] }, 'job.running', job), false);
  });

  it('secrets are derived per scope and generation; a rotated delivery verifies with the old and the new secret', () => {
    const key = 'k'.repeat(40);
    const s1 = webhookSecret(key, { subscription: 'a' }, 1);
    assert.match(s1, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(webhookSecret(key, { subscription: 'a' }, 1), s1, 'the same every time');
    const others = [webhookSecret(key, { subscription: 'a' }, 2), webhookSecret(key, { subscription: 'b' }, 1), webhookSecret(key, { job: 'a' }, 1), webhookSecret('x'.repeat(40), { subscription: 'a' }, 1)];
    assert.equal(new Set([s1, ...others]).size, 5, 'another generation, scope or key: another secret');

    const id = jobEventId('0c6f5a8e-1111-4222-8333-444455556666', 3);
    const at = new Date();
    const body = eventBody({ type: 'job.running', timestamp: at.toISOString(), data: { id: 'x' } });
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signatureHeader([others[0]!, s1], id, at, body) };
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    for (const s of [s1, others[0]!]) assert.deepEqual(new Webhook(s).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(others[1]!).verify(body, headers));
    assert.throws(() => new Webhook(s1).verify(body.replace('running', 'completed'), headers), 'a changed body fails');
  });

  it('backoff doubles from the first retry up to its cap', () => {
    const p = { ...DEFAULT_DELIVERY_POLICY, backoffMs: 1_000, backoffMaxMs: 5_000 };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => deliveryBackoffMs(p, n)), [1_000, 2_000, 4_000, 5_000, 5_000]);
  });
});
