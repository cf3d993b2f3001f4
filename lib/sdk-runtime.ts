/**
 * The Temporal SDK's process-wide runtime, installed the same way by every entry point: its log
 * lines — the Rust core's included, which by default go to the console as coloured text — are
 * forwarded into our logger (lib/logger.ts), so LOG_FORMAT=json gives JSON lines only.
 */
import { Runtime } from '@temporalio/worker';
import { sdkLogger, type Logger } from './logger';

export function installSdkRuntime(logger: Logger, opts: { shutdownSignals?: NodeJS.Signals[] } = {}): void {
  Runtime.install({
    logger: sdkLogger(logger),
    ...(opts.shutdownSignals ? { shutdownSignals: opts.shutdownSignals } : {}),
    telemetryOptions: { logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } } },
  });
}
