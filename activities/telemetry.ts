/**
 * What the encode activity reports about an attempt while it runs (a port: the worker agent
 * implements it with Prometheus metrics and power sensors; tests may pass none).
 */
import type { EncodeSpec, JobEnergyFigures } from '../domain/job';
import type { EncoderProcess } from './encoder-process';

export type AttemptOutcome = 'completed' | 'failed' | 'canceled' | 'timed_out';

export interface AttemptTelemetry {
  /** live encode speed, for the per-job fps gauge */
  progress(fps: number | null): void;
  /** the encoder's CPU seconds so far (sampled while it runs) */
  readonly cpuSeconds: number;
  /** closes the attempt: counts it, and returns its energy (finalCpu: the encoder's own total, when it told) */
  end(outcome: AttemptOutcome, finalCpuSeconds?: number): Promise<JobEnergyFigures | null>;
}

export interface EncodeTelemetry {
  begin(jobId: string, attempt: number, spec: EncodeSpec, proc: EncoderProcess, opts: { finePower: boolean }): AttemptTelemetry;
}

export const NO_TELEMETRY: EncodeTelemetry = {
  begin: (_j, _a, _s, proc) => {
    let cpu = 0;
    return {
      progress() {
        cpu = proc.cpuSeconds() ?? cpu;
      },
      get cpuSeconds() {
        return cpu;
      },
      end: async () => null,
    };
  },
};
