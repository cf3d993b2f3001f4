/**
 * Structured logs (pino): JSON lines in production, pretty lines on a terminal. Lines about a job
 * carry job_id, attempt and node (child loggers bind them).
 */
import pino from 'pino';
import { isJobUuid } from '../domain/ids';
import { JOB_WORKFLOW_ID_PREFIX } from '../domain/job';

export type Logger = pino.Logger;

export function createLogger(component: string, opts: { level?: string; format?: string } = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const format = opts.format ?? process.env.LOG_FORMAT ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  return pino({
    level,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  });
}

/** Messages the Temporal SDK warns about that are expected in ffrtmp's design (one queue, one role). */
const EXPECTED_SDK_WARNINGS = [/^No activities registered/, /^No workflows registered/];

type SdkLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const PINO_LEVEL = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
/** What ffrtmp's own workflow and activity code logs through the SDK (the SDK itself never uses these). */
const USER_CODE = new Set(['workflow', 'activity']);

/**
 * The SDK's metadata as pino fields: an `error` becomes `err` (pino's serializer keeps its message
 * and type; as `error` it would print as `{}`), and a job workflow's id gives the line its job_id,
 * so every line about a job can be found by it, with attempt and node (null while unknown).
 */
export function sdkLogFields(meta: Record<string, unknown> = {}): Record<string, unknown> {
  const { error, ...rest } = meta;
  const fields: Record<string, unknown> = rest;
  if (error !== undefined) fields.err = error;
  const wf = rest.workflowId;
  const jobId = typeof wf === 'string' && wf.startsWith(JOB_WORKFLOW_ID_PREFIX) ? wf.slice(JOB_WORKFLOW_ID_PREFIX.length) : undefined;
  if (jobId !== undefined && isJobUuid(jobId) && fields.job_id === undefined) fields.job_id = jobId;
  // the SDK drops null metadata: a job line whose attempt or node is not known yet says so
  if (fields.job_id !== undefined) {
    fields.attempt ??= null;
    fields.node ??= null;
  }
  return fields;
}

/**
 * The Temporal SDK's logger interface, forwarded into pino: the SDK's own messages at warning and
 * error only (its info and debug lines are per task, too many to keep), ffrtmp's workflow and
 * activity code at every level.
 */
export function sdkLogger(logger: Logger) {
  const log = (level: SdkLevel, message: string, meta?: Record<string, unknown>) => {
    if (level === 'WARN' && EXPECTED_SDK_WARNINGS.some((re) => re.test(message))) return;
    if (level !== 'WARN' && level !== 'ERROR' && !USER_CODE.has(String(meta?.sdkComponent))) return;
    logger[PINO_LEVEL[level]](sdkLogFields(meta), message);
  };
  return {
    log,
    trace: (m: string, meta?: Record<string, unknown>) => log('TRACE', m, meta),
    debug: (m: string, meta?: Record<string, unknown>) => log('DEBUG', m, meta),
    info: (m: string, meta?: Record<string, unknown>) => log('INFO', m, meta),
    warn: (m: string, meta?: Record<string, unknown>) => log('WARN', m, meta),
    error: (m: string, meta?: Record<string, unknown>) => log('ERROR', m, meta),
  };
}
