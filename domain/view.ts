/**
 * Building the job view (the wire format of GET /jobs/{id}) from the workflow input and the
 * job's state. The workflow's query and the API's first answer to POST /jobs share it.
 */
import type { AttemptRecord, EncodeResult, JobOutput, JobView, JobWorkflowInput, SegmentView, Transition } from './job';
import type { JobStatus } from './states';

/** How many characters of log the view's tail carries (GET /jobs/{id}/logs has everything). */
export const VIEW_LOG_TAIL_CHARS = 4_000;

export interface ViewState {
  status: JobStatus;
  transitions: readonly Transition[];
  attempts: readonly AttemptRecord[];
  startedAt: string | null;
  completedAt: string | null;
  error: string | null;
  output: JobOutput | null;
  progress: number;
  result: EncodeResult | null;
  waitReason?: string | null;
  /** a split job's segments */
  segments?: readonly SegmentView[] | null;
}

/** How many times a job went to `retrying`, automatically or by hand: its retry count. */
export function countRetries(transitions: readonly Transition[]): number {
  return transitions.filter((t) => t.to === 'retrying').length;
}

export function formatLogs(attempts: readonly AttemptRecord[]): string {
  return attempts
    .map((a) => `### attempt ${a.attempt} on ${a.node_name ?? 'no node'} (${a.outcome ?? 'in progress'})\n${a.log}`)
    .join('\n\n');
}

export function buildJobView(input: JobWorkflowInput, s: ViewState): JobView {
  const a = s.attempts[s.attempts.length - 1];
  const logs = formatLogs(s.attempts);
  return {
    id: input.id,
    sequence_number: input.sequenceNumber,
    scenario: input.request.scenario,
    confidence: input.request.confidence,
    engine: input.request.engine,
    queue: input.request.queue,
    priority: input.request.priority,
    parameters: input.request.parameters,
    status: s.status,
    progress: s.progress,
    node_id: a?.node_id ?? null,
    node_name: a?.node_name ?? null,
    created_at: input.createdAt,
    started_at: s.startedAt,
    completed_at: s.completedAt,
    attempt: s.attempts.length,
    retry_count: countRetries(s.transitions),
    max_retries: input.policy.maxRetries,
    error: s.error,
    state_transitions: [...s.transitions],
    output: s.output,
    fps: null,
    speed: null,
    eta_seconds: null,
    encoder: a?.encoder ?? input.spec.encoder,
    engine_used: a?.engine ?? input.spec.engine,
    task_queue: a?.task_queue ?? null,
    routing: s.waitReason ?? a?.routing ?? null,
    paused: s.status === 'paused',
    attempts: s.attempts.map(({ log: _log, ...rest }) => rest),
    log_tail: logs.length > VIEW_LOG_TAIL_CHARS ? logs.slice(-VIEW_LOG_TAIL_CHARS) : logs,
    energy_joules: s.result?.energy?.energy_joules ?? null,
    avg_power_watts: s.result?.energy?.avg_power_watts ?? null,
    power_source: s.result?.energy?.power_source ?? null,
    estimated_cpu_joules: s.result?.energy?.estimated_cpu_joules ?? null,
    avg_fps: s.result?.avg_fps ?? null,
    cpu_seconds: s.result?.cpu_seconds ?? null,
    verification: s.result?.verification ?? null,
    psnr_db: s.result?.verification?.psnr_db ?? null,
    ssim: s.result?.verification?.ssim ?? null,
    // only when the result has one: the memo of a job from before it stays as it was
    ...(s.result?.progress_history ? { progress_history: s.result.progress_history } : {}),
    ...(s.segments ? { segments: s.segments.map(segmentView) } : {}),
  };
}

/** A segment as the view shows it: exactly the view's fields (the workflow keeps more). */
function segmentView(g: SegmentView): SegmentView {
  return { index: g.index, start_seconds: g.start_seconds, duration_seconds: g.duration_seconds, status: g.status, node_id: g.node_id, attempts: g.attempts, fps: g.fps, progress: g.progress };
}

/** The view of a job the moment it is created, before its workflow ran a single task. */
export function initialJobView(input: JobWorkflowInput): JobView {
  return buildJobView(input, {
    status: 'queued',
    transitions: [{ from: null, to: 'queued', at: input.createdAt, reason: 'job created', attempt: 0 }],
    attempts: [],
    startedAt: null,
    completedAt: null,
    error: null,
    output: null,
    progress: 0,
    result: null,
  });
}

/** What a running segment's encode heartbeats (its details, as far as the view needs them). */
export interface SegmentHeartbeat {
  segment_index?: number;
  progress?: number;
  fps?: number | null;
}

/**
 * A split job's view with its running segments' heartbeats: each segment's progress and fps; the
 * job's progress over the whole range (segments weighted by length), its fps their sum.
 */
export function withLiveSegments(view: JobView, lives: readonly SegmentHeartbeat[]): JobView {
  const segments = (view.segments ?? []).map((g) => {
    const live = lives.find((l) => l.segment_index === g.index);
    return live && g.status === 'running' ? { ...g, progress: live.progress ?? g.progress, fps: live.fps ?? g.fps } : g;
  });
  const total = segments.reduce((n, g) => n + g.duration_seconds, 0);
  const done = segments.reduce((n, g) => n + (g.duration_seconds * g.progress) / 100, 0);
  const running = segments.filter((g) => g.status === 'running' && g.fps !== null);
  return {
    ...view,
    segments,
    progress: total > 0 ? Math.max(view.progress, Math.min(100, Math.floor((done / total) * 100))) : view.progress,
    fps: running.length > 0 ? Math.round(running.reduce((n, g) => n + (g.fps ?? 0), 0) * 10) / 10 : null,
  };
}
