/**
 * The master's routes as data: method, path, schemas, documented responses and handler. The
 * express app registers exactly these, the CLI's `--via temporal` runs them in process (both
 * through api/route-runner.ts), and the OpenAPI document is generated from the same table and the
 * same zod schemas that validate requests. Nothing here depends on express.
 */
import { z } from 'zod';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  errorSchema,
  healthSchema,
  heartbeatAnswerSchema,
  idempotencyKeyHeaderSchema,
  idempotencyKeySchema,
  jobListSchema,
  jobLogsSchema,
  jobViewSchema,
  jobWire,
  nodeListSchema,
  nodeViewSchema,
  nodeWire,
  scenariosSchema,
} from '../domain/api-schemas';
import { ENCODERS } from '../domain/encoders';
import type { JobView } from '../domain/job';
import type { NodeRegistration } from '../domain/nodes';
import { SCENARIO_GRAMMAR, listScenarios } from '../domain/scenarios';
import { createJobSchema, gpuFeaturesOf, heartbeatSchema, jobBodyOf, listJobsQuerySchema, registerNodeSchema, safeText } from '../domain/schemas';
import { ApiError, badRequest } from '../lib/errors';
import { MAX_BATCH, type JobService } from '../lib/job-service';
import type { NodeService } from '../lib/node-service';
import type { WebhookService } from '../lib/webhook-service';
import { STREAM_PAGE_MAX, type EventHub, type ServerEvent } from './events';
import { WEBHOOK_ROUTES } from './webhook-routes';

export interface RouteContext {
  jobs: JobService;
  nodes: NodeService;
  /** the master's event streams (absent where no master serves: the CLI's --via temporal) */
  events?: EventHub;
  /** webhook subscriptions and deliveries (absent where no master serves: their secrets come from its key) */
  webhooks?: WebhookService;
  health: () => Promise<z.infer<typeof healthSchema>>;
  openapi: () => unknown;
}

export interface RouteResult {
  status: number;
  body: unknown;
  /** response headers the route sets */
  headers?: Record<string, string>;
  /** server-sent events to stream instead of a JSON body (the stream ends when it does) */
  stream?: AsyncIterable<ServerEvent>;
}

/** A documented request or response header. */
export interface HeaderSpec {
  description: string;
  schema: z.ZodType;
}

/** What a handler gets: the request, validated by the route's schemas (api/route-runner.ts). */
export interface RouteRequest {
  params: Record<string, string>;
  /** the parsed body (undefined where the route takes none, or an optional one was not sent) */
  body: unknown;
  /** the parsed query (undefined where the route takes none) */
  query: unknown;
  /** request headers by lower-case name, each with every value sent */
  headers: Readonly<Record<string, readonly string[] | undefined>>;
  /** the caller's principal id; 'anonymous' where nothing authenticated it */
  principal: string;
}

export interface RouteSpec {
  method: 'get' | 'post' | 'delete';
  /** express syntax: /jobs/:id */
  path: string;
  summary: string;
  tag: 'jobs' | 'nodes' | 'webhooks' | 'meta';
  auth: boolean;
  body?: z.ZodType;
  /** true when a JSON body is optional (control actions) */
  bodyOptional?: boolean;
  /** the largest body this route takes, when it takes more than the master's FFRTMP_BODY_LIMIT */
  bodyLimit?: string;
  query?: z.ZodType;
  /** optional request headers the route reads, by name */
  headers?: Record<string, HeaderSpec>;
  /**
   * success and route-specific error statuses, with what each means (and headers they may carry);
   * linksTo: the answer names a resource by its `id`, and the document links it to the routes under this path
   */
  responses: Record<number, { description: string; schema?: z.ZodType; headers?: Record<string, HeaderSpec>; contentType?: 'text/event-stream'; linksTo?: string }>;
  handler: (req: RouteRequest, ctx: RouteContext) => Promise<RouteResult>;
}

/** A structured-field string ("…", RFC 9651) unquoted; undefined when it is not one. */
function unquoteSfString(v: string): string | undefined {
  if (v.length < 2 || !v.startsWith('"') || !v.endsWith('"')) return undefined;
  let out = '';
  for (let i = 1; i < v.length - 1; i++) {
    const c = v[i]!;
    if (c === '"') return undefined;
    if (c === '\\') {
      const next = v[++i];
      if (i >= v.length - 1 || (next !== '"' && next !== '\\')) return undefined;
      out += next;
    } else out += c;
  }
  return out;
}

/** The request's Idempotency-Key, if it sent one; a malformed one is refused (400, naming the header). */
export function idempotencyKeyOf(req: RouteRequest): string | undefined {
  const values = req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
  if (!values || values.length === 0) return undefined;
  if (values.length > 1) throw badRequest(`${IDEMPOTENCY_KEY_HEADER} header: send it once (got ${values.length})`);
  const raw = values[0]!;
  // the draft's form is a structured-field string; a bare value is taken as it is
  const key = raw.startsWith('"') ? unquoteSfString(raw) : raw;
  if (key === undefined) throw badRequest(`${IDEMPOTENCY_KEY_HEADER} header: a value that starts with " must be a quoted string ("…", with \\" and \\\\ escapes)`);
  const check = idempotencyKeySchema.safeParse(key);
  if (!check.success) throw badRequest(`${IDEMPOTENCY_KEY_HEADER} header: ${check.error.issues[0]?.message ?? 'invalid'}`);
  return check.data;
}

/** Response header of POST /jobs with parameters.webhook_url: the job's own signing secret. */
export const WEBHOOK_SECRET_HEADER = 'Webhook-Secret';

const controlBody = z.object({ reason: safeText(500, 0).describe('why, for the job\'s state transitions').optional() }).strict();

const ok = (description: string, schema?: z.ZodType) => ({ description, schema });
const COMMON_400 = 'malformed request: bad JSON, an unknown field, or a value out of range (the message names the field)';
const NOT_FOUND = { 404: ok('no such job', errorSchema) };
const CONFLICT = { 409: ok('the state machine forbids this action now', errorSchema) };

function control(action: 'cancel' | 'pause' | 'resume' | 'retry'): RouteSpec {
  return {
    method: 'post',
    path: `/jobs/:id/${action}`,
    summary: `${action[0]!.toUpperCase()}${action.slice(1)} a job (id: uuid or sequence number)`,
    tag: 'jobs',
    auth: true,
    body: controlBody,
    bodyOptional: true,
    responses: { 200: ok('the job view once the action took effect', jobViewSchema), ...NOT_FOUND, ...CONFLICT },
    handler: async (req, ctx) => {
      const id = String(req.params.id);
      const reason = (req.body as z.infer<typeof controlBody> | undefined)?.reason;
      const view = action === 'retry' ? await ctx.jobs.retry(id) : await ctx.jobs.control(id, action, reason);
      return { status: 200, body: jobWire(view) };
    },
  };
}

const batchBodySchema = z.object({ jobs: z.array(createJobSchema).min(1).max(MAX_BATCH).describe(`1 to ${MAX_BATCH} job requests, each as POST /jobs takes it`) }).strict();
const batchAnswerSchema = z.object({ jobs: z.array(jobViewSchema), count: z.number().int() });

/** The list's filters and one of its pages, for GET /events: the page a client shows (the first 200 without them). */
const eventsQuerySchema = listJobsQuerySchema.extend({
  limit: z.coerce.number().int().min(1).max(STREAM_PAGE_MAX).default(STREAM_PAGE_MAX).describe(`the page's size, as listed with GET /jobs (at most ${STREAM_PAGE_MAX})`),
  page_token: listJobsQuerySchema.shape.page_token.describe("the page's start: a next_page_token of GET /jobs with the same filters"),
});

function events(ctx: RouteContext): EventHub {
  if (!ctx.events) throw new ApiError(404, 'event streams are served by the master only (the CLI follows jobs by polling without it)');
  return ctx.events;
}

const lastEventIdSchema = z.string().max(64);

/** The id a reconnecting client last received; an over-long one is refused (400, naming the header). */
function lastEventId(req: RouteRequest): string | undefined {
  const raw = req.headers['last-event-id']?.[0];
  if (raw === undefined) return undefined;
  const check = lastEventIdSchema.safeParse(raw);
  if (!check.success) throw badRequest(`Last-Event-ID header: ${check.error.issues[0]?.message ?? 'invalid'}`);
  return check.data;
}

export const ROUTES: RouteSpec[] = [
  {
    method: 'get',
    path: '/health',
    summary: 'Liveness and Temporal reachability (no authentication)',
    tag: 'meta',
    auth: false,
    responses: { 200: ok('up, Temporal reachable', healthSchema), 503: ok('up, Temporal unreachable', healthSchema) },
    handler: async (_req, ctx) => {
      const h = await ctx.health();
      return { status: h.temporal === 'ok' ? 200 : 503, body: h };
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'meta',
    auth: true,
    responses: { 200: ok('OpenAPI 3.1 document') },
    handler: async (_req, ctx) => ({ status: 200, body: ctx.openapi() }),
  },
  {
    method: 'get',
    path: '/scenarios',
    summary: 'Scenario presets, the scenario grammar, and the encoders with their presets',
    tag: 'meta',
    auth: true,
    responses: { 200: ok('the catalogue', scenariosSchema) },
    handler: async () => ({
      status: 200,
      body: {
        grammar: SCENARIO_GRAMMAR,
        presets: listScenarios().map((s) => ({ name: s.name, width: s.width, height: s.height, fps: s.fps, codec: s.codec, bitrate_kbps: s.bitrateKbps })),
        encoders: ENCODERS.map((e) => ({ name: e.name, engine: e.engine, codec: e.codec, capability: e.capability, presets: [...e.presets], default_preset: e.defaultPreset })),
      },
    }),
  },
  {
    method: 'post',
    path: '/jobs',
    summary: 'Create a job',
    tag: 'jobs',
    auth: true,
    body: createJobSchema,
    headers: { [IDEMPOTENCY_KEY_HEADER]: { description: idempotencyKeySchema.description ?? '', schema: idempotencyKeyHeaderSchema } },
    responses: {
      201: {
        description: 'created; the job is queued. With an Idempotency-Key already used by this caller: the job that key created, as it is now',
        schema: jobViewSchema,
        linksTo: '/jobs/:id',
        headers: {
          [IDEMPOTENT_REPLAYED_HEADER]: {
            description: 'true when the answer is the job an earlier request with the same Idempotency-Key created (absent otherwise)',
            schema: z.literal('true'),
          },
          [WEBHOOK_SECRET_HEADER]: {
            description: "with parameters.webhook_url: the secret (whsec_…) the job's own deliveries are signed with",
            schema: z.string(),
          },
        },
      },
      400: ok(`${COMMON_400}, or a malformed ${IDEMPOTENCY_KEY_HEADER} header`, errorSchema),
      422: ok(`the ${IDEMPOTENCY_KEY_HEADER} was used by this caller with a different request body, or parameters.webhook_url may not receive webhooks (it does not resolve, or resolves to a private address the master does not allow)`, errorSchema),
    },
    handler: async (req, ctx) => {
      const b = jobBodyOf(req.body as z.infer<typeof createJobSchema>);
      const key = idempotencyKeyOf(req);
      if (b.parameters.webhook_url) await ctx.webhooks?.checkUrl(b.parameters.webhook_url, 'parameters.webhook_url');
      const withSecret = (job: JobView, headers: Record<string, string>) =>
        b.parameters.webhook_url && ctx.webhooks ? { ...headers, [WEBHOOK_SECRET_HEADER]: ctx.webhooks.jobSecret(job.id) } : headers;
      if (key === undefined) {
        const job = await ctx.jobs.create(b);
        return { status: 201, body: jobWire(job), headers: withSecret(job, {}) };
      }
      // the same key from two callers names two jobs: the principal id is part of the job id
      const { job, replayed } = await ctx.jobs.createIdempotent(b, { principal: req.principal, key });
      const headers: Record<string, string> = replayed ? { [IDEMPOTENT_REPLAYED_HEADER]: 'true' } : {};
      return { status: 201, body: jobWire(job), headers: withSecret(job, headers) };
    },
  },
  {
    method: 'post',
    path: '/jobs/batch',
    summary: `Create up to ${MAX_BATCH} jobs at once: all validated first (each error names its index and field), consecutive sequence numbers`,
    tag: 'jobs',
    auth: true,
    body: batchBodySchema,
    bodyLimit: '4mb',
    headers: { [IDEMPOTENCY_KEY_HEADER]: { description: `${idempotencyKeySchema.description ?? ''} — for a batch, each job's id comes from the key and its index: a retried batch answers with the jobs it created and creates only the missing ones`, schema: idempotencyKeyHeaderSchema } },
    responses: {
      201: {
        description: 'created: every job, in the order asked, queued',
        schema: batchAnswerSchema,
        headers: { [IDEMPOTENT_REPLAYED_HEADER]: { description: 'true when some of the jobs were created by an earlier request with the same Idempotency-Key', schema: z.literal('true') } },
      },
      400: ok(`${COMMON_400}; every refused job request is named by its index (jobs.3.parameters.duration: …), and none is created`, errorSchema),
      422: ok(`the ${IDEMPOTENCY_KEY_HEADER} was used by this caller with a different request body for one of the jobs`, errorSchema),
      503: ok('Temporal could not start some of the jobs: the answer names them (retry with the same Idempotency-Key to create only those)', errorSchema),
    },
    handler: async (req, ctx) => {
      const b = req.body as z.infer<typeof batchBodySchema>;
      const key = idempotencyKeyOf(req);
      const { jobs, replayed } = await ctx.jobs.createBatch(b.jobs.map(jobBodyOf), key === undefined ? undefined : { principal: req.principal, key });
      const headers: Record<string, string> = replayed > 0 ? { [IDEMPOTENT_REPLAYED_HEADER]: 'true' } : {};
      return { status: 201, body: { jobs: jobs.map(jobWire), count: jobs.length }, headers };
    },
  },
  {
    method: 'get',
    path: '/jobs',
    summary: 'List jobs (open ones first, newest first; filters: status, queue, priority, scenario, node; limit and page_token for paging)',
    tag: 'jobs',
    auth: true,
    query: listJobsQuerySchema,
    responses: { 200: ok('a page of jobs', jobListSchema) },
    handler: async (req, ctx) => {
      const q = req.query as z.infer<typeof listJobsQuerySchema>;
      const page = await ctx.jobs.list(q, q.limit, q.page_token);
      return { status: 200, body: { jobs: page.jobs, count: page.jobs.length, next_page_token: page.next_page_token } };
    },
  },
  {
    method: 'get',
    path: '/jobs/:id',
    summary: 'Get a job (id: uuid or sequence number)',
    tag: 'jobs',
    auth: true,
    responses: { 200: ok('the job view', jobViewSchema), ...NOT_FOUND },
    handler: async (req, ctx) => ({ status: 200, body: jobWire(await ctx.jobs.get(String(req.params.id))) }),
  },
  {
    method: 'get',
    path: '/jobs/:id/logs',
    summary: "A job's logs, every attempt, in the spec's format",
    tag: 'jobs',
    auth: true,
    responses: { 200: ok('the logs', jobLogsSchema), ...NOT_FOUND },
    handler: async (req, ctx) => ({ status: 200, body: await ctx.jobs.logs(String(req.params.id)) }),
  },
  {
    method: 'get',
    path: '/jobs/:id/events',
    summary: "A job's live events (server-sent events): snapshot, state per transition, progress at most every 0.5 s, end; reconnect with Last-Event-ID",
    tag: 'jobs',
    auth: true,
    headers: { 'Last-Event-ID': { description: 'the id of the last event received: the stream resumes after it (the transitions missed first)', schema: lastEventIdSchema } },
    responses: { 200: { description: 'text/event-stream of the job\'s events', contentType: 'text/event-stream' }, ...NOT_FOUND },
    handler: async (req, ctx) => ({ status: 200, body: null, stream: await events(ctx).job(String(req.params.id), lastEventId(req)) }),
  },
  {
    method: 'get',
    path: '/events',
    summary: 'Live events of the jobs on one page of the list (server-sent events; its filters, limit and page_token): state per status change, progress of every running job; reconnect with Last-Event-ID',
    tag: 'jobs',
    auth: true,
    query: eventsQuerySchema,
    headers: { 'Last-Event-ID': { description: 'the id of the last event received: the stream replays what came after it, or says reset', schema: lastEventIdSchema } },
    responses: { 200: { description: 'text/event-stream of job events', contentType: 'text/event-stream' } },
    handler: async (req, ctx) => ({ status: 200, body: null, stream: await events(ctx).all(req.query as z.infer<typeof eventsQuerySchema>, lastEventId(req)) }),
  },
  control('cancel'),
  control('pause'),
  control('resume'),
  control('retry'),
  {
    method: 'post',
    path: '/nodes/register',
    summary: 'Register a worker node (the same address again: same id, details updated)',
    tag: 'nodes',
    auth: true,
    body: registerNodeSchema,
    responses: { 201: { ...ok('a new node', nodeViewSchema), linksTo: '/nodes/:id' }, 200: { ...ok('a known node, updated', nodeViewSchema), linksTo: '/nodes/:id' } },
    handler: async (req, ctx) => {
      const b = req.body as z.infer<typeof registerNodeSchema>;
      const reg: NodeRegistration = {
        address: b.address,
        type: 'worker',
        name: b.name ?? new URL(b.address).hostname,
        cpu_threads: b.cpu_threads,
        cpu_model: b.cpu_model,
        has_gpu: b.has_gpu,
        gpu_type: b.gpu_type ?? null,
        // kept as the spec writes it ("nvenc,cuda"), answered as an array (nodeWire)
        gpu_capabilities: gpuFeaturesOf(b.gpu_capabilities).join(','),
        ram_total_bytes: b.ram_total_bytes,
        capabilities: [...new Set(b.capabilities ?? [])],
        encoders: [...new Set(b.encoders ?? [])],
        simulated_capabilities: [...new Set(b.simulated_capabilities ?? [])],
        version: b.version ?? 'unknown',
      };
      const { created, node } = await ctx.nodes.register(reg);
      return { status: created ? 201 : 200, body: nodeWire(node) };
    },
  },
  {
    method: 'get',
    path: '/nodes',
    summary: 'List nodes',
    tag: 'nodes',
    auth: true,
    responses: { 200: ok('the nodes', nodeListSchema) },
    handler: async (_req, ctx) => {
      const nodes = await ctx.nodes.list();
      return { status: 200, body: { nodes: nodes.map(nodeWire), count: nodes.length } };
    },
  },
  {
    method: 'get',
    path: '/nodes/:id',
    summary: 'Get a node',
    tag: 'nodes',
    auth: true,
    responses: { 200: ok('the node', nodeViewSchema), 404: ok('no such node', errorSchema) },
    handler: async (req, ctx) => ({ status: 200, body: nodeWire(await ctx.nodes.get(String(req.params.id))) }),
  },
  {
    method: 'delete',
    path: '/nodes/:id',
    summary: 'Drain a node: it takes no new work, its running jobs finish, then it is removed',
    tag: 'nodes',
    auth: true,
    responses: { 200: ok('draining', nodeViewSchema), 404: ok('no such node', errorSchema) },
    handler: async (req, ctx) => ({ status: 200, body: nodeWire(await ctx.nodes.drain(String(req.params.id))) }),
  },
  {
    method: 'post',
    path: '/nodes/:id/heartbeat',
    summary: 'Node heartbeat with optional load figures; the answer says continue or drain',
    tag: 'nodes',
    auth: true,
    body: heartbeatSchema,
    bodyOptional: true,
    responses: { 200: ok('keep working, or drain', heartbeatAnswerSchema), 404: ok('unknown node: register again', errorSchema) },
    handler: async (req, ctx) => {
      const b = (req.body ?? {}) as z.infer<typeof heartbeatSchema>;
      const answer = await ctx.nodes.heartbeat(String(req.params.id), {
        running_jobs: b.running_jobs ?? 0,
        cpu_percent: b.cpu_percent ?? null,
        memory_bytes: b.memory_bytes ?? null,
        power_watts: b.power_watts ?? null,
        power_source: b.power_source ?? null,
      });
      return { status: 200, body: answer };
    },
  },
  ...WEBHOOK_ROUTES,
];

/** Statuses any route may answer with, besides its own. */
export const COMMON_RESPONSES: Record<number, string> = {
  400: COMMON_400,
  401: 'missing or invalid API key (X-API-Key or Authorization: Bearer) and no valid client certificate',
  413: 'request body larger than the limit',
  415: 'request body is not application/json',
  429: 'rate limit exceeded; see Retry-After',
  500: 'unexpected error (details are logged, never returned)',
  503: 'Temporal is unreachable',
};
