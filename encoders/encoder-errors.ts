/**
 * Why an encoder (ffmpeg, gst-launch-1.0) or a file step failed, in words a user can act on, and
 * whether another attempt could succeed. The encoders report causes only as text on stderr, so
 * this is the one place that reads that text: a table of their messages, tested line by line.
 * Everything downstream works with the typed diagnosis, never with the text.
 */

export type FailureCause = 'no-space' | 'not-writable' | 'input-invalid' | 'input-unreachable';

export interface Diagnosis {
  cause: FailureCause;
  /** what the user reads: the cause first */
  summary: string;
  /** false: the same request fails the same way wherever it runs */
  retryable: boolean;
  /** the encoder's own line that showed it */
  evidence?: string;
}

const SUMMARY: Record<FailureCause, string> = {
  'no-space': 'no space left on device',
  'not-writable': 'permission denied writing the output',
  'input-invalid': 'the input is corrupt or not a media file the encoder can read',
  'input-unreachable': 'the input could not be fetched',
};

/** Deterministic where a retry on the same storage cannot help; a fetch may work next time. */
const RETRYABLE: Record<FailureCause, boolean> = {
  'no-space': false,
  'not-writable': false,
  'input-invalid': false,
  'input-unreachable': true,
};

const STDERR_PATTERNS: readonly [RegExp, FailureCause][] = [
  [/No space left on (?:device|the resource)|Disk quota exceeded/i, 'no-space'],
  [/Permission denied|Operation not permitted|Read-only file system/i, 'not-writable'],
  [/Invalid data found when processing input|moov atom not found|could not find codec parameters|Could not determine type of stream|Stream doesn't contain (?:any )?data/i, 'input-invalid'],
  [/Connection refused|Connection reset|Connection timed out|Server returned [45]\d\d|Failed to resolve hostname|Network is unreachable/i, 'input-unreachable'],
];

function diagnosis(cause: FailureCause, evidence?: string): Diagnosis {
  return { cause, summary: SUMMARY[cause], retryable: RETRYABLE[cause], ...(evidence ? { evidence: evidence.trim() } : {}) };
}

/** The cause an encoder's stderr names, the last such line winning (the closest to the failure). */
export function diagnoseStderr(lines: readonly string[]): Diagnosis | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    for (const [re, cause] of STDERR_PATTERNS) if (re.test(line)) return diagnosis(cause, line);
  }
  return undefined;
}

const ERRNO_CAUSE: Readonly<Record<string, FailureCause>> = {
  ENOSPC: 'no-space',
  EDQUOT: 'no-space',
  EACCES: 'not-writable',
  EPERM: 'not-writable',
  EROFS: 'not-writable',
  ENOTDIR: 'not-writable',
  EISDIR: 'not-writable',
};

/** A file-system error of ours (mkdir, rename, rm) by its errno code; undefined when it is not one of them. */
export function diagnoseFsError(err: unknown): Diagnosis | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const cause = code ? ERRNO_CAUSE[code] : undefined;
  return cause ? diagnosis(cause, (err as Error).message) : undefined;
}

/**
 * The encoder's last line that reports a problem ("Conversion failed!" and the like name no cause;
 * statistics printed at exit, such as `[aac @ …] Qavg: 109`, none at all); else its last line.
 */
export function lastTellingLine(lines: readonly string[]): string {
  const generic = /^(Conversion failed!|Exiting normally|Error while (?:filtering|decoding)|Setting pipeline to NULL|Freeing pipeline)/i;
  const problem = /error|fail|invalid|refused|reset|broken pipe|denied|unable|cannot|could not|timed out|not found/i;
  const candidates = lines.map((l) => l.trim()).filter((l) => l && !generic.test(l));
  for (let i = candidates.length - 1; i >= 0; i--) if (problem.test(candidates[i]!)) return candidates[i]!;
  return candidates[candidates.length - 1] ?? lines[lines.length - 1]?.trim() ?? '';
}
