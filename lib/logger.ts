/**
 * Structured logs (pino): JSON lines in production, pretty lines on a terminal. Lines about a job
 * carry job_id, attempt and node (child loggers bind them).
 */
import pino from 'pino';

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
