/**
 * The parts of the API's answers the page reads (docs/API.md; the full schemas are in
 * domain/api-schemas.ts, which the browser build cannot import: it pulls in zod).
 */
export interface Transition {
  from: string | null;
  to: string;
  at: string;
  reason: string;
  attempt: number;
}

export interface Attempt {
  attempt: number;
  node_id: string | null;
  node_name: string | null;
  task_queue: string;
  encoder: string;
  engine: string;
  started_at: string | null;
  finished_at: string | null;
  outcome: string | null;
  error: string | null;
  routing: string;
}

/** A job as GET /jobs lists it. */
export interface JobSummary {
  id: string;
  sequence_number: number;
  scenario: string;
  queue: string;
  priority: string;
  status: string;
  node_id: string | null;
  created_at: string;
  completed_at: string | null;
  parameters: Record<string, unknown>;
}

/** A job's live figures, as progress events and views carry them. */
export interface JobProgress {
  id: string;
  status: string;
  progress: number;
  progress_percent: number;
  fps: number | null;
  speed?: number | null;
  eta_seconds: number | null;
  node_id: string | null;
}

export interface JobView extends JobSummary, JobProgress {
  engine: string;
  confidence: string;
  node_name: string | null;
  started_at: string | null;
  attempt: number;
  retry_count: number;
  max_retries: number;
  error: string | null;
  state_transitions: Transition[];
  attempts: Attempt[];
  encoder: string;
  engine_used: string;
  task_queue: string | null;
  routing: string | null;
  log_tail: string;
  output: { path: string | null; url: string | null; size_bytes: number | null } | null;
  energy_joules: number | null;
  avg_power_watts: number | null;
  power_source: string | null;
  estimated_cpu_joules: number | null;
  avg_fps: number | null;
  cpu_seconds: number | null;
  psnr_db: number | null;
  ssim: number | null;
}

export interface JobList {
  jobs: JobSummary[];
  count: number;
  next_page_token: string | null;
}

export interface NodeView {
  id: string;
  name: string;
  address: string;
  status: string;
  cpu_threads: number;
  cpu_model: string;
  has_gpu: boolean;
  gpu_type: string | null;
  capabilities: string[];
  simulated_capabilities: string[];
  encoders: string[];
  version: string;
  last_heartbeat: string | null;
  load: { running_jobs: number; cpu_percent: number | null; memory_bytes: number | null; power_watts: number | null } | null;
  drain_requested: boolean;
}

export interface NodeList {
  nodes: NodeView[];
  count: number;
}

/** A JSON Schema, as far as the page reads it (the OpenAPI document's). */
export interface Schema {
  type?: string;
  enum?: string[];
  default?: unknown;
  description?: string;
  properties?: Record<string, Schema>;
}

export interface OpenApi {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: Schema }[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
}

export interface Catalogue {
  grammar: string;
  presets: { name: string; width: number; height: number; fps: number; codec: string; bitrate_kbps: number }[];
  encoders: { name: string; engine: string; codec: string; capability: string; presets: string[]; default_preset: string }[];
}
