/** `ffrtmp webhooks …`: subscriptions to job events (add, list, remove, test). */
import { Option, type Command } from 'commander';
import { JOB_EVENT_TYPES } from '../../domain/webhooks';
import type { WebhookWire } from '../client';
import { EXIT } from '../exit-codes';
import { formatTime } from '../output';
import { addGlobalOptions, examples, withSession, type Runtime } from '../session';

/** A comma-separated list option, each value trimmed. */
const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

export const WEBHOOK_LIST_HEAD = ['ID', 'URL', 'EVENTS', 'FILTERS', 'CREATED'];

export function webhookRow(w: WebhookWire): string[] {
  const filters = [...(w.queues.length ? [`queue=${w.queues.join('|')}`] : []), ...(w.scenarios.length ? [`scenario=${w.scenarios.join('|')}`] : [])];
  return [w.id, w.url, w.events.join(','), filters.join(' ') || '-', formatTime(w.created_at)];
}

export function registerWebhooks(program: Command, rt: Runtime): Command {
  const webhooks = program
    .command('webhooks')
    .description('subscriptions to job events, posted signed (Standard Webhooks) to a URL')
    .addHelpText('after', examples([
      ['ffrtmp webhooks add https://hooks.example.com/ffrtmp', 'every job event; prints the signing secret once'],
      ['ffrtmp webhooks add https://hooks.example.com/done --events job.completed,job.failed --queue live', 'only ends of live jobs'],
      ['ffrtmp webhooks list', 'the subscriptions'],
      ['ffrtmp webhooks test <id>', 'send one signed webhook.test event now'],
      ['ffrtmp webhooks remove <id>', 'delete a subscription'],
    ]));

  const add = webhooks
    .command('add')
    .description('subscribe a URL to job events: the answer shows the signing secret, once')
    .argument('<url>', 'the receiver (http or https; private addresses are refused unless the master allows the host)')
    .addOption(new Option('--events <list>', `comma-separated: ${JOB_EVENT_TYPES.join(', ')}, or * (default *)`).argParser(list))
    .addOption(new Option('--queue <list>', 'only jobs of these queues (live, default, batch)').argParser(list))
    .addOption(new Option('--scenario <list>', 'only jobs of these scenarios').argParser(list))
    .option('--description <text>', 'what it is for')
    .addHelpText('after', examples([['ffrtmp webhooks add https://hooks.example.com/ffrtmp --events job.completed', 'completed jobs only']]))
    .action((url: string, o: { events?: string[]; queue?: string[]; scenario?: string[]; description?: string }, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const w = await api.createWebhook({
          url,
          ...(o.events ? { events: o.events as never } : {}),
          ...(o.queue ? { queues: o.queue as never } : {}),
          ...(o.scenario ? { scenarios: o.scenario } : {}),
          ...(o.description !== undefined ? { description: o.description } : {}),
        });
        if (out.json) return out.printJson(w);
        out.details([
          ['ID', w.id],
          ['URL', w.url],
          ['Events', w.events.join(', ')],
          ['Secret', w.secret],
        ]);
        out.note('keep the secret: no later answer shows it (verify deliveries with it, e.g. the standardwebhooks library)');
      }),
    );
  addGlobalOptions(add, true);

  const ls = webhooks
    .command('list')
    .description('the subscriptions (no secrets)')
    .addHelpText('after', examples([['ffrtmp webhooks list', 'the subscriptions'], ['ffrtmp -o json webhooks list', 'as the API returns them']]))
    .action((_opts: unknown, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const r = await api.listWebhooks();
        if (out.json) return out.printJson(r);
        if (r.webhooks.length === 0) out.note('no webhooks');
        else out.table(WEBHOOK_LIST_HEAD, r.webhooks.map(webhookRow));
      }),
    );
  addGlobalOptions(ls, true);

  const remove = webhooks
    .command('remove')
    .description('delete a subscription: its pending deliveries are dropped')
    .argument('<id>', 'webhook id (webhooks list shows them)')
    .action((id: string, _opts: unknown, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const w = await api.removeWebhook(id);
        if (out.json) out.printJson(w);
        else out.line(`webhook ${w.id} (${w.url}) removed`);
      }),
    );
  addGlobalOptions(remove, true);

  const test = webhooks
    .command('test')
    .description('send one signed webhook.test event to the subscription now; exit 1 when it was not answered with a 2xx')
    .argument('<id>', 'webhook id')
    .action((id: string, _opts: unknown, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const r = await api.testWebhook(id);
        if (out.json) out.printJson(r);
        else {
          const a = r.attempt;
          out.line(r.delivered ? `delivered ${r.event_id}: ${a.status_code} in ${a.latency_ms} ms` : `not delivered ${r.event_id}: ${a.error ?? `status ${a.status_code}`}`);
        }
        if (!r.delivered) rt.exitCode = EXIT.jobFailed;
      }),
    );
  addGlobalOptions(test, true);
  return webhooks;
}
