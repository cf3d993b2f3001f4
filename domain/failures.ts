/**
 * Every failure type ffrtmp throws or maps (`ApplicationFailure.type`), in one table: the encode and
 * node activities', the job workflow's own (its execution failing, an update refused), the node
 * entity's. Code compares against these names, never against string literals or messages.
 */
export const FAILURE = {
  // ---- activities (encode, node control); the workflow maps them to job outcomes

  /** no encoder progress for the stall interval: the attempt timed out */
  stalled: 'EncoderStalled',
  /** the encoder exited with an error: retryable */
  encoderFailed: 'EncoderFailed',
  /** the output did not pass the checks its confidence asks for: retryable */
  verificationFailed: 'VerificationFailed',
  /** the request cannot work anywhere (unknown encoder, unreadable input): not retryable */
  invalidJob: 'InvalidJob',
  /** the worker is shutting down: retry elsewhere */
  workerShutdown: 'WorkerShutdown',
  /** the control target (a running encoder) is not on this node */
  encoderNotFound: 'EncoderNotFound',
  /** the output cannot be written (no space, permission): not retryable on the same storage */
  outputNotWritable: 'OutputNotWritable',
  /** the worker lost contact with Temporal longer than its lease: its encoder was stopped */
  lostContact: 'LostContact',
  /** the joined output of a split job differs from what a single pass makes (the message names the figure): retryable */
  splitCheckFailed: 'SplitCheckFailed',
  /** the attempt was canceled (by its workflow, or because nobody adopted it) */
  canceled: 'EncodeCanceled',
  // ---- the job workflow
  /** an update (pause, resume, cancel) the state machine refuses now: the API answers 409 */
  conflict: 'Conflict',
  /** the execution of a failed job fails with this (the job view stays in its memo) */
  jobFailed: 'JobFailed',
  /** the execution of a timed-out job fails with this */
  jobTimedOut: 'JobTimedOut',
  // ---- the node entity
  /** an update for a node that never registered: the API answers 404 */
  nodeNotRegistered: 'NotFound',
  // ---- webhooks (the registry, a job's deliveries)
  /** no such subscription, or no such delivery: the API answers 404 */
  webhookNotFound: 'WebhookNotFound',
  /** a re-send of a delivery that is not failed: the API answers 409 */
  webhookConflict: 'WebhookConflict',
} as const;

export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];
