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

/** Messages the Temporal SDK warns about that are expected in ffrtmp's design (one queue, one role). */
const EXPECTED_SDK_WARNINGS = [/^No activities registered/, /^No workflows registered/];

type SdkLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The Temporal SDK's logger interface, forwarded into pino (warnings and errors only). */
export function sdkLogger(logger: Logger) {
  const log = (level: SdkLevel, message: string, meta?: Record<string, unknown>) => {
    if (level === 'WARN' && EXPECTED_SDK_WARNINGS.some((re) => re.test(message))) return;
    if (level === 'WARN') logger.warn(meta ?? {}, message);
    else if (level === 'ERROR') logger.error(meta ?? {}, message);
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
