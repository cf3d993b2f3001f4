/**
 * The `ffrtmp` CLI of the system the spec came from, as far as the wire goes: exactly the requests
 * it sends and the answers it accepts, decoded with the types its Go structs have (a number into an
 * `int` must be whole, a list into `[]string` must be an array, times RFC 3339 or null; fields it
 * does not know are ignored, missing ones are zero). The contract test drives ffrtmp's master with it.
 */
import { z } from 'zod';

const int = z.number().int();
/** time.Time / *time.Time: an RFC 3339 string (or null for a pointer) */
const rfc3339 = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, 'an RFC 3339 time');
const optionalTime = rfc3339.nullable().optional();

export const specJob = z.looseObject({
  id: z.string(),
  sequence_number: int,
  scenario: z.string(),
  confidence: z.string().optional(),
  engine: z.string().optional(),
  queue: z.string().optional(),
  priority: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  status: z.string(),
  progress: int.optional(),
  node_id: z.string().nullable().optional(),
  node_name: z.string().nullable().optional(),
  retry_count: int.optional(),
  error: z.string().nullable().optional(),
  created_at: rfc3339,
  started_at: optionalTime,
  completed_at: optionalTime,
});
export type SpecJob = z.infer<typeof specJob>;

export const specJobList = z.looseObject({ jobs: z.array(specJob).nullable(), count: int });
export const specLogs = z.looseObject({ job_id: z.string(), logs: z.string() });

export const specNode = z.looseObject({
  id: z.string(),
  address: z.string(),
  type: z.string(),
  cpu_threads: int,
  cpu_model: z.string(),
  has_gpu: z.boolean(),
  gpu_type: z.string().nullable().optional(),
  gpu_capabilities: z.array(z.string()).nullable().optional(),
  ram_total_bytes: int,
  status: z.string(),
  last_heartbeat: optionalTime,
  registered_at: optionalTime,
});
export const specNodeList = z.looseObject({ nodes: z.array(specNode).nullable(), count: int });

/** What the spec's CLI does with an answer it does not take: it stops with the API's message. */
export class SpecCliError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `status --follow` stops on these, and only these. */
export const SPEC_FOLLOW_STOPS = ['completed', 'failed', 'canceled'];

export class SpecCli {
  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  /** One request as that CLI makes it: Bearer auth, JSON only when there is a body. */
  private async call<T>(method: string, path: string, schema: z.ZodType<T>, okStatus: number[], body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!okStatus.includes(r.status)) throw new SpecCliError(r.status, `${method} ${path}: HTTP ${r.status}: ${text}`);
    if (r.status === 204) return undefined as T;
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${method} ${path}: the spec's client cannot decode the answer: ${parsed.error.message}\n${text}`);
    return parsed.data;
  }

  /** `jobs submit`: it always sends parameters.engine (its workers read it as a second place for the engine). */
  submit(req: { scenario: string; engine?: string; queue?: string; priority?: string; parameters?: Record<string, unknown> }): Promise<SpecJob> {
    const engine = req.engine ?? 'auto';
    const body = { scenario: req.scenario, confidence: 'auto', engine, queue: req.queue ?? 'default', priority: req.priority ?? 'medium', parameters: { ...req.parameters, engine } };
    return this.call('POST', '/jobs', specJob, [201], body);
  }
  list() {
    return this.call('GET', '/jobs', specJobList, [200]);
  }
  status(id: string | number) {
    return this.call('GET', `/jobs/${id}`, specJob, [200]);
  }
  /** control POSTs: an empty body, no Content-Type */
  control(id: string | number, action: 'pause' | 'resume' | 'cancel' | 'retry') {
    return this.call('POST', `/jobs/${id}/${action}`, specJob, [200]);
  }
  logs(id: string | number) {
    return this.call('GET', `/jobs/${id}/logs`, specLogs, [200]);
  }
  /** `status --follow`: polls until a state it stops on */
  async follow(id: string | number, intervalMs: number, deadlineMs: number): Promise<SpecJob> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const job = await this.status(id);
      if (SPEC_FOLLOW_STOPS.includes(job.status)) return job;
      if (Date.now() > end) throw new Error(`status --follow of job ${id} still following after ${deadlineMs} ms (last: ${job.status})`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  register(body: Record<string, unknown>) {
    return this.call('POST', '/nodes/register', specNode, [200, 201], body);
  }
  nodes() {
    return this.call('GET', '/nodes', specNodeList, [200]);
  }
  node(id: string) {
    return this.call('GET', `/nodes/${encodeURIComponent(id)}`, specNode, [200]);
  }
  /** `nodes remove` takes 200 or 204 */
  removeNode(id: string) {
    return this.call('DELETE', `/nodes/${encodeURIComponent(id)}`, z.unknown(), [200, 204]);
  }
}
