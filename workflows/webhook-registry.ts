/**
 * The webhook subscriptions as one entity workflow (id ffrtmp-webhooks): create, delete and rotate
 * are updates, applied one at a time in history order, so every master replica sees the same
 * list. Its state holds no secret — only each subscription's secret generation — so its history
 * can be read in the Web UI without revealing one. It continues as new before history grows large.
 */
import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { FAILURE } from '../domain/failures';
import { createWebhookUpdate, deleteWebhookUpdate, rotateWebhookUpdate, webhooksQuery } from '../domain/messages';
import type { WebhookSubscription } from '../domain/webhooks';

const UPDATES_PER_RUN = 500;

export async function webhookRegistry(state: { subscriptions: WebhookSubscription[] } = { subscriptions: [] }): Promise<void> {
  const subs = new Map(state.subscriptions.map((s) => [s.id, s]));
  let updates = 0;
  const known = (id: string) => {
    if (!subs.has(id)) throw ApplicationFailure.create({ type: FAILURE.webhookNotFound, message: `webhook ${id} not found`, nonRetryable: true });
  };

  setHandler(createWebhookUpdate, (sub) => {
    updates++;
    // the same id again (a retried create) answers with what exists
    const existing = subs.get(sub.id);
    if (existing) return existing;
    subs.set(sub.id, sub);
    return sub;
  });
  setHandler(deleteWebhookUpdate, (id) => {
    updates++;
    const sub = subs.get(id)!;
    subs.delete(id);
    return sub;
  }, { validator: known });
  setHandler(rotateWebhookUpdate, ({ id, graceMs }) => {
    updates++;
    const sub = subs.get(id)!;
    const validUntil = new Date(Date.now() + graceMs).toISOString();
    const rotated: WebhookSubscription = { ...sub, secret_version: sub.secret_version + 1, previous_secret: { version: sub.secret_version, valid_until: validUntil } };
    subs.set(id, rotated);
    return rotated;
  }, { validator: ({ id }) => known(id) });
  setHandler(webhooksQuery, () => [...subs.values()]);

  await condition(() => updates >= UPDATES_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof webhookRegistry>({ subscriptions: [...subs.values()] });
}
