/**
 * Exit codes by class, so scripts can branch on what went wrong without parsing messages. The
 * API's HTTP status decides the class; failures to reach the master or Temporal at all count as
 * "unavailable", like a 503.
 */
export const EXIT = {
  ok: 0,
  /** --wait / jobs watch: the job ended failed, timed_out or canceled; webhooks test: not delivered */
  jobFailed: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  unavailable: 6,
  rateLimited: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  the job ended failed, timed_out or canceled (--wait, jobs watch); the test event was not delivered (webhooks test)
  2  usage: unknown command or option, invalid value, bad config file, request refused as invalid (400)
  3  authentication refused (401, 403): no or wrong API key and no valid client certificate
  4  not found (404): no such job or node
  5  conflict (409): the job's state forbids the action
  6  unavailable: server error (5xx), connection refused, timeout, TLS failure, Temporal unreachable
  7  rate limited (429)`;

/** An error the CLI reports as one line on stderr and turns into an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status < 400) return EXIT.ok;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 429) return EXIT.rateLimited;
  if (status >= 500) return EXIT.unavailable;
  return EXIT.usage;
}
