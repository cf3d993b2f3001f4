/**
 * The webhook delivery activity, run by masters on the webhook queue (they hold the settings and
 * the key the secrets come from). It reads the subscription as it is now — deleted: nothing to
 * send; rotated: signed with the new secret and, during the grace period, the old one — and makes
 * one attempt (lib/webhook-send.ts). Retries are the delivery workflow's, so each attempt is
 * recorded there.
 */
import { Context } from '@temporalio/activity';
import type { WebhookDeliveryActivities } from '../domain/activities';
import type { JobView } from '../domain/job';
import { JOB_URL_TARGET, type AttemptResult, type DeliverRequest } from '../domain/webhooks';
import { webhookSecret } from '../lib/webhook-secrets';
import { sendEvent, type WebhookMetrics, type WebhookSettings } from '../lib/webhook-send';
import { readSubscriptions } from './webhook-handoff';

export function createWebhookDeliveryActivities(settings: WebhookSettings, metrics?: WebhookMetrics): WebhookDeliveryActivities {
  return {
    async deliverWebhook(req: DeliverRequest): Promise<AttemptResult> {
      if (req.target === JOB_URL_TARGET) {
        const job = req.event.data as JobView;
        const url = job.parameters.webhook_url;
        if (!url) return { outcome: 'gone', policy: settings.policy, attempt: { at: new Date().toISOString(), status_code: null, latency_ms: null, error: 'the job has no webhook_url' } };
        return sendEvent(settings, url, [webhookSecret(settings.secretKey(), { job: job.id }, 1)], req.event, metrics);
      }
      const sub = (await readSubscriptions(Context.current().client)).find((s) => s.id === req.target);
      if (!sub) {
        metrics?.attempts.inc({ outcome: 'gone' });
        return { outcome: 'gone', policy: settings.policy, attempt: { at: new Date().toISOString(), status_code: null, latency_ms: null, error: 'the subscription was deleted' } };
      }
      const secrets = [webhookSecret(settings.secretKey(), { subscription: sub.id }, sub.secret_version)];
      if (sub.previous_secret && Date.parse(sub.previous_secret.valid_until) > Date.now()) {
        secrets.push(webhookSecret(settings.secretKey(), { subscription: sub.id }, sub.previous_secret.version));
      }
      return sendEvent(settings, sub.url, secrets, req.event, metrics);
    },
  };
}
