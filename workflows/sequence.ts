/**
 * The durable sequence counter behind job sequence numbers: an entity workflow whose `next`
 * update returns 1, 2, 3, … Updates are processed one at a time in history order, so numbers are
 * unique and increase in the order jobs were created, whichever master replica asks, across
 * restarts of every process. It continues as new before its history grows large.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { currentSequenceQuery, nextSequenceUpdate } from '../domain/messages';

const HANDOUTS_PER_RUN = 2_000;

export async function sequenceCounter(state: { next: number } = { next: 1 }): Promise<void> {
  let next = state.next;
  let handedOut = 0;
  setHandler(
    nextSequenceUpdate,
    (count = 1) => {
      const first = next;
      next += count;
      handedOut += count;
      return first;
    },
    {
      validator: (count = 1) => {
        if (!Number.isInteger(count) || count < 1 || count > 1000) throw new Error('count must be an integer 1..1000');
      },
    },
  );
  setHandler(currentSequenceQuery, () => next - 1);
  await condition(() => handedOut >= HANDOUTS_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof sequenceCounter>({ next });
}
