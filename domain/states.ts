/**
 * The job state machine: the spec's FSM plus `paused`.
 *
 * This table is the only place that says which status may follow which. The workflow
 * enforces it on every change, the API maps a forbidden control action to 409 through it,
 * and the docs render it. Pure data, safe inside the workflow sandbox.
 */
export const JOB_STATUSES = [
  'queued',
  'assigned',
  'running',
  'paused',
  'completed',
  'failed',
  'canceled',
  'timed_out',
  'retrying',
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  // waiting in a task queue; a failure here is one found before any worker took it
  queued: ['assigned', 'paused', 'canceled', 'failed'],
  // a worker took the encode; the encoder has not produced a frame yet
  assigned: ['running', 'paused', 'canceled', 'failed', 'timed_out', 'completed'],
  running: ['completed', 'failed', 'timed_out', 'paused', 'canceled'],
  // a paused job resumes into the status it was paused from; a worker lost while
  // paused fails the attempt (it is retried, and stays paused until resumed)
  paused: ['queued', 'assigned', 'running', 'canceled', 'failed'],
  completed: [],
  // failed / timed_out / canceled reach retrying automatically (failed, timed_out)
  // or by a manual retry (all three)
  failed: ['retrying'],
  timed_out: ['retrying'],
  canceled: ['retrying'],
  retrying: ['queued', 'canceled'],
};

/** Statuses in which a job no longer runs and waits for nothing but a manual retry. */
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'canceled', 'timed_out'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === 'string' && (JOB_STATUSES as readonly string[]).includes(value);
}

/** The control actions a user may ask for, and the statuses each is allowed from. */
export const CONTROL_ACTIONS = ['cancel', 'pause', 'resume', 'retry'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export const ACTION_ALLOWED_FROM: Readonly<Record<ControlAction, readonly JobStatus[]>> = {
  cancel: ['queued', 'assigned', 'running', 'paused', 'retrying'],
  pause: ['queued', 'assigned', 'running'],
  resume: ['paused'],
  retry: ['failed', 'timed_out', 'canceled'],
};

/** Why an action is refused from a status, or undefined when it is allowed. */
export function refuseAction(action: ControlAction, status: JobStatus): string | undefined {
  if (ACTION_ALLOWED_FROM[action].includes(status)) return undefined;
  const allowed = ACTION_ALLOWED_FROM[action].join(', ');
  return `cannot ${action} a job that is ${status} (allowed from: ${allowed})`;
}
