/**
 * Routing: which task queue (capability) an attempt goes to, with which encoder and engine, and
 * what happens when no worker takes it. Pure, so the workflow decides deterministically and the
 * tests table-test every case.
 *
 *  - An explicit hardware encoder (codec=h264_nvenc) needs its capability. A codec family
 *    (codec=h264) lets the hardware policy choose: `cpu` never uses a GPU; `auto` uses a GPU
 *    capability a live worker offers, else the CPU; `if-possible` tries a GPU and falls back;
 *    `required` waits for a GPU worker.
 *  - A GPU attempt that may fall back carries a schedule-to-start timeout (gpuWaitMs): if no GPU
 *    worker takes it by then, the next attempt runs on the CPU with the software encoder, an
 *    equivalent preset and the same bitrate — and never a GPU option.
 *  - engine=auto picks GStreamer for the live queue and for RTMP output when a live worker has it;
 *    engine=gstreamer waits gpuWaitMs for such a worker, then fails with a clear error.
 */
import {
  GPU_CAPABILITIES,
  GSTREAMER_ENCODER,
  HARDWARE_ENCODER,
  SOFTWARE_ENCODER,
  equivalentSoftwarePreset,
  findEncoder,
  type Capability,
} from './encoders';
import type { EncodeSpec, EngineChoice, HardwarePolicy, JobPolicy, JobRequest, QueueName, RoutingIntent } from './job';
import { encodeQueue, priorityKey } from './queues';
import { CODECS } from './scenarios';

/** The routing intent of a request (resolveJob records it in the job's input; one owner). */
export function routingIntentOf(request: JobRequest, policy: Pick<JobPolicy, 'hardware'>): RoutingIntent {
  const codec = request.parameters.codec;
  return {
    engine: request.engine,
    hardware: policy.hardware,
    queue: request.queue,
    explicitEncoder: codec !== undefined && !(CODECS as readonly string[]).includes(codec),
    priorityKey: { first: priorityKey(request.queue, request.priority), later: priorityKey(request.queue, request.priority, true) },
  };
}

export interface Route {
  capability: Capability;
  taskQueue: string;
  /** the spec this attempt encodes with (encoder and preset may differ from the request's) */
  spec: EncodeSpec;
  /** why the attempt goes there, for the job view */
  reason: string;
  /** no worker takes it within this: fall back (GPU→CPU) or fail (engine missing) */
  scheduleToStartMs?: number;
  onTimeout?: 'fallback-to-cpu' | 'fail';
}

export type RouteDecision = { kind: 'route'; route: Route } | { kind: 'wait'; reason: string };

export interface RoutingInput {
  spec: EncodeSpec;
  engine: EngineChoice;
  queue: QueueName;
  hardware: HardwarePolicy;
  /** the request named an encoder (codec=h264_nvenc) rather than a codec family */
  explicitEncoder: boolean;
  /** capabilities that live workers poll right now */
  live: readonly Capability[];
  gpuWaitMs: number;
  /** a GPU attempt of this job already went unclaimed: stay on the CPU */
  fellBack: boolean;
}

const route = (capability: Capability, spec: EncodeSpec, reason: string, extra: Partial<Route> = {}): RouteDecision => ({
  kind: 'route',
  route: { capability, taskQueue: encodeQueue(capability), spec, reason, ...extra },
});

/** The software FFmpeg rung: the encoder, preset and bitrate that stand in for a hardware one. */
export function cpuFallback(spec: EncodeSpec): EncodeSpec {
  const from = findEncoder(spec.encoder)!;
  const to = findEncoder(SOFTWARE_ENCODER[spec.codec])!;
  return { ...spec, encoder: to.name, engine: 'ffmpeg', preset: equivalentSoftwarePreset(from, spec.preset, to) };
}

function withEncoder(spec: EncodeSpec, name: string, presetFrom?: EncodeSpec): EncodeSpec {
  const to = findEncoder(name)!;
  const from = findEncoder(spec.encoder)!;
  const preset = presetFrom ? equivalentSoftwarePreset(from, presetFrom.preset, to) : to.presets.includes(spec.preset) ? spec.preset : to.defaultPreset;
  return { ...spec, encoder: to.name, engine: to.engine, preset };
}

export function planRoute(input: RoutingInput): RouteDecision {
  const { spec, live } = input;
  const info = findEncoder(spec.encoder);
  const secs = Math.round(input.gpuWaitMs / 1000);

  // an encoder the catalogue does not know (a job started past the API): the CPU worker checks it
  if (!info) return route('cpu', spec, `${spec.encoder} is not in the catalogue; the worker will check it`);

  // engine=gstreamer was asked for
  if (input.engine === 'gstreamer' || info.engine === 'gstreamer') {
    const why = live.includes('gstreamer') ? 'engine gstreamer asked for' : `engine gstreamer asked for; no live worker offers it yet (waiting ${secs} s)`;
    return route('gstreamer', spec, why, { scheduleToStartMs: input.gpuWaitMs, onTimeout: 'fail' });
  }

  // a software encoder named outright: exactly that
  if (input.explicitEncoder && info.capability === 'cpu') return route('cpu', spec, `${info.name} asked for`);

  // a hardware encoder named outright: its capability, with a fallback unless a GPU is required
  if (input.explicitEncoder && info.capability !== 'cpu') {
    if (input.fellBack || (input.hardware === 'cpu')) {
      return route('cpu', cpuFallback(spec), input.fellBack ? `no ${info.capability} worker took it within ${secs} s: fell back to the CPU` : 'hardware=cpu');
    }
    if (input.hardware === 'required') return route(info.capability, spec, `${info.name} requires ${info.capability}; waiting for such a worker if none is live`);
    return route(info.capability, spec, `${info.name} needs ${info.capability}; CPU fallback after ${secs} s unclaimed`, {
      scheduleToStartMs: input.gpuWaitMs,
      onTimeout: 'fallback-to-cpu',
    });
  }

  // a codec family: the hardware policy chooses
  const gpuOptions = GPU_CAPABILITIES.filter((c) => HARDWARE_ENCODER[c as 'nvenc'][spec.codec] !== undefined);
  const liveGpu = gpuOptions.filter((c) => live.includes(c));
  const gpuSpec = (c: Capability) => withEncoder(spec, HARDWARE_ENCODER[c as 'nvenc'][spec.codec]!);

  if (input.hardware !== 'cpu' && !input.fellBack) {
    if (input.hardware === 'required') {
      if (liveGpu.length === 0) {
        return gpuOptions.length === 0
          ? { kind: 'wait', reason: `hardware=required, but no GPU encoder makes ${spec.codec}` }
          : { kind: 'wait', reason: `hardware=required: waiting for a live ${gpuOptions.join('/')} worker` };
      }
      return route(liveGpu[0]!, gpuSpec(liveGpu[0]!), `hardware=required: ${liveGpu[0]} is live`);
    }
    const pick = liveGpu[0] ?? (input.hardware === 'if-possible' ? gpuOptions[0] : undefined);
    if (pick) {
      return route(pick, gpuSpec(pick), `hardware=${input.hardware}: ${liveGpu.includes(pick) ? `${pick} is live` : `trying ${pick}`}; CPU fallback after ${secs} s unclaimed`, {
        scheduleToStartMs: input.gpuWaitMs,
        onTimeout: 'fallback-to-cpu',
      });
    }
  }

  // the CPU: GStreamer for live/RTMP work when a worker has it (engine=auto), else FFmpeg
  const software = info.capability === 'cpu' ? spec : cpuFallback(spec);
  const wantsGst = input.engine === 'auto' && (input.queue === 'live' || spec.output.mode === 'rtmp');
  if (wantsGst && live.includes('gstreamer')) {
    return route('gstreamer', withEncoder(software, GSTREAMER_ENCODER[spec.codec]), `engine=auto: GStreamer for ${input.queue === 'live' ? 'the live queue' : 'RTMP output'}`);
  }
  const why = input.fellBack
    ? `no GPU worker took it within ${secs} s: fell back to ${software.encoder} on the CPU`
    : wantsGst
      ? 'engine=auto: no live GStreamer worker, using FFmpeg'
      : input.hardware === 'cpu'
        ? 'hardware=cpu'
        : `${software.encoder} on the CPU${input.hardware === 'auto' && gpuOptions.length ? ' (no live GPU worker)' : ''}`;
  return route('cpu', software, why);
}
