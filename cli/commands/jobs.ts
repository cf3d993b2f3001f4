/**
 * `ffrtmp jobs …`: submit, status (one job or the list), logs, watch, and the control actions.
 * Every job field and parameter is an option; options are checked with the API's own zod schemas
 * before anything is sent, and their choices come from the domain's enums.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { CONFIDENCES, ENGINES, HARDWARE_POLICIES, OUTPUT_MODES, PRIORITIES, QUEUES, type JobView } from '../../domain/job';
import { createJobSchema, jobParametersSchema, listJobsQuerySchema } from '../../domain/schemas';
import { JOB_STATUSES } from '../../domain/states';
import type { JobSummary, ListQuery } from '../client';
import { CliError, EXIT } from '../exit-codes';
import { followLogs } from '../logs';
import { formatBytes, formatDuration, formatTime, type Output } from '../output';
import { addGlobalOptions, examples, parseInteger, parseInterval, parseNumber, parseParallel, withSession, type Runtime } from '../session';
import { followJob, outcomeExitCode, outcomeLine, progressDisplay } from '../watch';

/** A schema field's description and default, looked up through optional/default wrappers. */
export function fieldHelp(schema: z.ZodType): { description?: string; defaultValue?: unknown } {
  let s: z.ZodType = schema;
  let description = s.description;
  let defaultValue: unknown;
  for (;;) {
    // a default the schema documents without applying it (engine: it may come from parameters.engine)
    defaultValue ??= (s.meta() as { default?: unknown } | undefined)?.default;
    if (s instanceof z.ZodDefault) {
      defaultValue = s.def.defaultValue;
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else break;
    description ??= s.description;
  }
  return { description, defaultValue };
}

interface FieldOption {
  flags: string;
  /** the request field it sets, at the top level or in `parameters` */
  field: string;
  in: 'job' | 'parameters';
  choices?: readonly string[];
  parse?: (v: string) => number | string;
  /** help text where the schema has none */
  help?: string;
}

export const JOB_OPTIONS: readonly FieldOption[] = [
  { flags: '--confidence <level>', field: 'confidence', in: 'job', choices: CONFIDENCES, help: 'confidence level' },
  { flags: '--engine <engine>', field: 'engine', in: 'job', choices: ENGINES, help: 'encoding engine' },
  { flags: '--queue <queue>', field: 'queue', in: 'job', choices: QUEUES, help: 'queue class: live goes first, batch last' },
  { flags: '--priority <priority>', field: 'priority', in: 'job', choices: PRIORITIES, help: 'priority within the queue' },
  { flags: '--duration <seconds>', field: 'duration', in: 'parameters', parse: parseNumber },
  { flags: '--bitrate <rate>', field: 'bitrate', in: 'parameters' },
  { flags: '--input <path-or-url>', field: 'input', in: 'parameters' },
  { flags: '--output-mode <mode>', field: 'output_mode', in: 'parameters', choices: OUTPUT_MODES },
  { flags: '--rtmp-url <url>', field: 'rtmp_url', in: 'parameters' },
  { flags: '--codec <codec>', field: 'codec', in: 'parameters' },
  { flags: '--preset <preset>', field: 'preset', in: 'parameters' },
  { flags: '--timeout <seconds>', field: 'timeout', in: 'parameters', parse: parseNumber },
  { flags: '--max-retries <n>', field: 'max_retries', in: 'parameters', parse: parseInteger },
  { flags: '--hardware <policy>', field: 'hardware', in: 'parameters', choices: HARDWARE_POLICIES },
  { flags: '--no-audio', field: 'audio', in: 'parameters', help: 'no audio track (default: encode one)' },
  { flags: '--webhook-url <url>', field: 'webhook_url', in: 'parameters', help: "post this job's every state change there, signed (its secret is printed once)" },
  { flags: '--parallel <off|auto|n>', field: 'parallel', in: 'parameters', parse: parseParallel },
  { flags: '--segment-seconds <seconds>', field: 'segment_seconds', in: 'parameters', parse: parseNumber },
];

function schemaOf(o: FieldOption): z.ZodType {
  const shape = o.in === 'job' ? createJobSchema.shape : jobParametersSchema.shape;
  return (shape as Record<string, z.ZodType>)[o.field]!;
}

function toCommanderOption(o: FieldOption): Option {
  const { description, defaultValue } = fieldHelp(schemaOf(o));
  const text = o.help ?? description ?? o.field;
  const opt = new Option(o.flags, defaultValue !== undefined ? `${text} (default: ${String(defaultValue)})` : text);
  if (o.choices) opt.choices(o.choices);
  if (o.parse) opt.argParser(o.parse);
  return opt;
}

const FLAG_OF_PATH = new Map<string, string>([
  ['scenario', '--scenario'],
  ...JOB_OPTIONS.map((o) => [o.in === 'job' ? o.field : `parameters.${o.field}`, o.flags.split(' ')[0]!] as [string, string]),
]);

/** zod issues as the options a user typed: "--duration: Too big: expected number to be <=86400". */
export function describeOptionIssues(error: z.ZodError, flags: ReadonlyMap<string, string>): string {
  return error.issues.map((i) => `${flags.get(i.path.join('.')) ?? i.path.join('.')}: ${i.message}`).join('; ');
}

/** The POST /jobs body from the submit options: only what was given (the API fills the defaults). */
export function buildCreateBody(opts: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { scenario: opts.scenario };
  const parameters: Record<string, unknown> = {};
  for (const o of JOB_OPTIONS) {
    const raw = opts[new Option(o.flags).attributeName()];
    // --no-audio: commander says audio=true when absent; only an explicit "no" goes out
    const value = o.field === 'audio' ? (raw === false ? false : undefined) : raw;
    if (value === undefined) continue;
    (o.in === 'job' ? body : parameters)[o.field] = value;
  }
  if (Object.keys(parameters).length > 0) body.parameters = parameters;
  const check = createJobSchema.safeParse(body);
  if (!check.success) throw new CliError(describeOptionIssues(check.error, FLAG_OF_PATH), EXIT.usage);
  return body;
}

const LIST_FLAGS = new Map([
  ['status', '--status'], ['queue', '--queue'], ['priority', '--priority'], ['scenario', '--scenario'],
  ['node', '--node'], ['limit', '--limit'], ['page_token', '--page-token'],
]);

/** The GET /jobs query from the list options. */
export function buildListQuery(opts: Record<string, unknown>): ListQuery {
  const q: ListQuery = {};
  const set = (k: keyof ListQuery, v: unknown) => {
    if (v !== undefined) q[k] = String(v);
  };
  set('status', opts.status);
  set('queue', opts.queue);
  set('priority', opts.priority);
  set('scenario', opts.scenario);
  set('node', opts.node);
  set('limit', opts.limit);
  set('page_token', opts.pageToken);
  const check = listJobsQuerySchema.safeParse(q);
  if (!check.success) throw new CliError(describeOptionIssues(check.error, LIST_FLAGS), EXIT.usage);
  return q;
}

const fps = (n: number | null) => (n === null ? null : n >= 100 ? n.toFixed(0) : n.toFixed(1));

export function jobDetails(v: JobView, out: Output): [string, string | null][] {
  const progress = [`${Math.floor(v.progress)}%`];
  if (v.fps !== null) progress.push(`${fps(v.fps)} fps`);
  if (v.speed !== null) progress.push(`${v.speed}x`);
  if (v.eta_seconds !== null) progress.push(`ETA ${formatDuration(v.eta_seconds)}`);
  const output = v.output ? `${v.output.path ?? v.output.url ?? ''}${v.output.size_bytes !== null ? ` (${formatBytes(v.output.size_bytes)})` : ''}` : null;
  const params = Object.entries(v.parameters).map(([k, val]) => `${k}=${String(val)}`).join(' ');
  return [
    ['Job', `${v.sequence_number}`],
    ['ID', v.id],
    ['Scenario', v.scenario],
    ['Status', out.status(v.status)],
    ['Progress', progress.join(', ')],
    ['Node', v.node_name ? `${v.node_name} (${v.node_id})` : null],
    ['Encoder', `${v.encoder} (${v.engine_used})`],
    ['Queue', `${v.queue}, priority ${v.priority}, confidence ${v.confidence}, engine ${v.engine}`],
    ['Parameters', params],
    ['Created', formatTime(v.created_at)],
    ['Started', formatTime(v.started_at)],
    ['Completed', formatTime(v.completed_at)],
    ['Attempts', `${v.attempt} (retries: ${v.retry_count} of ${v.max_retries})`],
    ['Routing', v.routing],
    ['Error', v.error ? out.paint('red', v.error) : null],
    ['Output', output],
    ['Encode', v.avg_fps !== null ? `${fps(v.avg_fps)} fps average${v.cpu_seconds !== null ? `, ${v.cpu_seconds.toFixed(2)} s CPU` : ''}` : null],
    ['Energy', v.energy_joules !== null ? `${v.energy_joules.toFixed(1)} J, ${v.avg_power_watts?.toFixed(1) ?? '?'} W average (${v.power_source ?? 'unknown'})` : null],
  ];
}

export const JOB_LIST_HEAD = ['JOB', 'ID', 'STATUS', 'SCENARIO', 'QUEUE', 'PRIORITY', 'NODE', 'RETRIES', 'CREATED'];

export function jobRow(j: JobSummary, out: Output): string[] {
  return [String(j.sequence_number), j.id, out.status(j.status), j.scenario, j.queue, j.priority, j.node_id ?? '', String(j.retry_count), formatTime(j.created_at)];
}

const ID_HELP = 'job uuid or sequence number';

export function registerJobs(program: Command, rt: Runtime): Command {
  const jobs = program
    .command('jobs')
    .description('submit, inspect and control transcoding jobs')
    .addHelpText('after', examples([
      ['ffrtmp jobs submit --scenario 4K60-h264 --duration 30', 'submit a job'],
      ['ffrtmp jobs status', 'list jobs'],
      ['ffrtmp jobs status 123', 'one job, by sequence number or uuid'],
      ['ffrtmp jobs logs 123', "a job's logs"],
      ['ffrtmp jobs cancel 123', 'cancel a job'],
    ]));

  const submit = jobs
    .command('submit')
    .description('create a job; --wait follows it to its end')
    .requiredOption('--scenario <name>', fieldHelp(createJobSchema.shape.scenario).description ?? 'scenario');
  for (const o of JOB_OPTIONS) submit.addOption(toCommanderOption(o));
  submit
    .option('--wait', 'follow the job to its end with a live progress bar; the exit code tells the outcome (0 completed, 1 not)')
    .addOption(new Option('--interval <ms>', 'how often --wait asks for progress (the default stays inside the API\'s default rate limit)').argParser(parseInterval).default(1000))
    .addHelpText('after', examples([
      ['ffrtmp jobs submit --scenario 4K60-h264 --duration 30', 'the spec example: a 30 s 4K60 H.264 encode of the test pattern'],
      ['ffrtmp jobs submit --scenario 1080p-h265 --bitrate 4M --preset slow --queue batch --priority low', 'a batch job with encoder settings'],
      ['ffrtmp jobs submit --scenario 720p30-h264 --input clips/in.mp4 --no-audio --wait', 'a file under the media root, followed to its end'],
      ['ffrtmp jobs submit --scenario 720p30-h264 --output-mode rtmp --rtmp-url rtmp://live.local/app/key --duration 60', 'stream to an RTMP server'],
      ['ffrtmp -o json jobs submit --scenario 240p30-h264 --duration 2 --wait', 'for scripts: the final job as JSON, exit code 0 if it completed'],
    ]))
    .action((opts: Record<string, unknown>, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const body = buildCreateBody(opts);
        const { job: created, webhookSecret } = await api.createJobAnswer(body);
        if (webhookSecret) out.note(`webhook secret of this job (shown once): ${webhookSecret}`);
        if (!opts.wait) {
          if (out.json) out.printJson(created);
          else {
            out.line(`job ${created.sequence_number} submitted: ${created.id} (${out.status(created.status)})`);
            out.note(`follow it: ffrtmp jobs watch ${created.sequence_number}`);
          }
          return;
        }
        if (!out.json) out.line(`job ${created.sequence_number} submitted: ${created.id}`);
        const final = await followJob(api, created.id, progressDisplay(rt.io.stderr, out), opts.interval as number);
        if (out.json) out.printJson(final);
        else out.line(outcomeLine(final, out));
        rt.exitCode = outcomeExitCode(final);
      }),
    );

  addGlobalOptions(submit, true);

  const status = jobs
    .command('status')
    .description('one job, or (without an id) the list of jobs: open ones first, newest first')
    .argument('[id]', ID_HELP)
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(JOB_STATUSES))
    .addOption(new Option('--queue <queue>', 'only jobs in this queue').choices(QUEUES))
    .addOption(new Option('--priority <priority>', 'only jobs with this priority').choices(PRIORITIES))
    .option('--scenario <name>', 'only jobs of this scenario')
    .option('--node <id>', 'only jobs on this node')
    .addOption(new Option('--limit <n>', `jobs per page (default: ${String(fieldHelp(listJobsQuerySchema.shape.limit).defaultValue)})`).argParser(parseInteger))
    .option('--page-token <token>', 'the next page, from a previous list')
    .addHelpText('after', examples([
      ['ffrtmp jobs status', 'list jobs'],
      ['ffrtmp jobs status 123', 'one job by its sequence number'],
      ['ffrtmp jobs status --status running --queue live', 'running jobs of the live queue'],
      ['ffrtmp -o json jobs status --limit 10', 'the first 10 jobs as the API returns them'],
    ]))
    .action((id: string | undefined, opts: Record<string, unknown>, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        if (id !== undefined) {
          const filters = ['status', 'queue', 'priority', 'scenario', 'node', 'limit', 'pageToken'].filter((k) => opts[k] !== undefined);
          if (filters.length > 0) throw new CliError(`filters (${filters.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}) apply to the list: leave out the id`, EXIT.usage);
          const job = await api.getJob(id);
          if (out.json) out.printJson(job);
          else out.details(jobDetails(job, out));
          return;
        }
        const page = await api.listJobs(buildListQuery(opts));
        if (out.json) return out.printJson(page);
        if (page.jobs.length === 0) out.note('no jobs');
        else out.table(JOB_LIST_HEAD, page.jobs.map((j) => jobRow(j, out)));
        if (page.next_page_token) out.note(`more: ffrtmp jobs status --page-token ${page.next_page_token}`);
      }),
    );
  addGlobalOptions(status, true);

  const logs = jobs
    .command('logs')
    .description("a job's logs: every attempt's command line and encoder output")
    .argument('<id>', ID_HELP)
    .option('-f, --follow', 'keep printing new lines until the job ends (with -o json: wait, then print the final logs)')
    .addOption(new Option('--interval <ms>', 'how often --follow asks').argParser(parseInterval).default(1000))
    .addHelpText('after', examples([
      ['ffrtmp jobs logs 123', 'the logs so far'],
      ['ffrtmp jobs logs 123 --follow', 'and new lines as they come, until the job ends'],
    ]))
    .action((id: string, opts: { follow?: boolean; interval: number }, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        if (opts.follow) {
          const final = await followLogs(api, id, out.json ? () => {} : (line) => out.line(line), opts.interval);
          if (out.json) out.printJson(final);
          return;
        }
        const l = await api.jobLogs(id);
        if (out.json) out.printJson(l);
        else out.line(l.logs.replace(/\n$/, ''));
      }),
    );
  addGlobalOptions(logs, true);

  const watch = jobs
    .command('watch')
    .description('follow a job to its end with a live progress bar; the exit code tells the outcome (0 completed, 1 not)')
    .argument('<id>', ID_HELP)
    .addOption(new Option('--interval <ms>', 'how often to ask for progress').argParser(parseInterval).default(1000))
    .addHelpText('after', examples([['ffrtmp jobs watch 123', 'percent, fps and ETA until job 123 ends']]))
    .action((id: string, opts: { interval: number }, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const final = await followJob(api, id, progressDisplay(rt.io.stderr, out), opts.interval);
        if (out.json) out.printJson(final);
        else out.line(outcomeLine(final, out));
        rt.exitCode = outcomeExitCode(final);
      }),
    );
  addGlobalOptions(watch, true);

  const actions = [
    // the workflow records a reason for cancel only (pause and resume take none)
    ['cancel', 'cancel a job: its encoder is stopped and its partial output removed', true],
    ['pause', 'pause a job: a queued one is held back, a running encoder is suspended', false],
    ['resume', 'resume a paused job where it stopped', false],
    ['retry', 'run a failed, timed-out or canceled job again (same id, earlier attempts kept)', false],
  ] as const;
  for (const [action, description, takesReason] of actions) {
    const cmd = jobs.command(action).description(description).argument('<id>', ID_HELP);
    if (takesReason) cmd.option('--reason <text>', "why (recorded in the job's state transitions)");
    cmd
      .addHelpText('after', examples([[`ffrtmp jobs ${action} 123`, `${action} job 123`]]))
      .action((id: string, opts: { reason?: string }, c: Command) =>
        withSession(c, rt, async ({ api, out }) => {
          const view = await api.control(id, action, opts.reason);
          if (out.json) out.printJson(view);
          else out.line(`job ${view.sequence_number} ${out.status(view.status)} (${view.id})`);
        }),
      );
    addGlobalOptions(cmd, true);
  }
  return jobs;
}
