/**
 * Custom search attributes: what the Web UI, `temporal workflow list --query` and GET /jobs filter
 * on. The start command registers them on the dev server; the compose stack's setup job on the
 * cluster. SQL visibility allows a few per type (Keyword 10, Int 3, Datetime 3): stay within it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  status: defineSearchAttributeKey('JobStatus', SearchAttributeType.KEYWORD),
  scenario: defineSearchAttributeKey('JobScenario', SearchAttributeType.KEYWORD),
  queue: defineSearchAttributeKey('JobQueue', SearchAttributeType.KEYWORD),
  priority: defineSearchAttributeKey('JobPriority', SearchAttributeType.KEYWORD),
  engine: defineSearchAttributeKey('JobEngine', SearchAttributeType.KEYWORD),
  node: defineSearchAttributeKey('JobNode', SearchAttributeType.KEYWORD),
  capability: defineSearchAttributeKey('JobCapability', SearchAttributeType.KEYWORD),
  sequence: defineSearchAttributeKey('JobSeq', SearchAttributeType.INT),
  retryCount: defineSearchAttributeKey('JobRetryCount', SearchAttributeType.INT),
  nodeStatus: defineSearchAttributeKey('NodeStatus', SearchAttributeType.KEYWORD),
} as const;

const TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
};

/** `NAME=Type` pairs, as `temporal server start-dev --search-attribute` and `operator search-attribute create` take them. */
export function searchAttributeDefinitions(): { name: string; type: string }[] {
  return Object.values(SA).map((k) => ({ name: k.name, type: TYPE_NAMES[k.type]! }));
}
