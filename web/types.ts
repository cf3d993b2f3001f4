/**
 * The API's shapes as the page reads them: type-only imports of the schemas' types
 * (domain/api-schemas.ts, which the server's answers are checked against), erased from the browser
 * build (web/tsconfig.json compiles with the project's root as rootDir for that; nothing of domain/
 * runs in the page). The few shapes below are the page's own: the parts of the OpenAPI document it
 * reads.
 */
import type { AttemptWire, JobListWire, JobSummaryWire, JobWire, NodeListWire, NodeWire, ProgressWire, ScenariosWire, TransitionWire } from '../domain/api-schemas';

export type Transition = TransitionWire;
export type Attempt = AttemptWire;
/** A job as GET /jobs lists it. */
export type JobSummary = JobSummaryWire;
/** A job's live figures, as progress events (and the views) carry them. */
export type JobProgress = ProgressWire;
export type JobList = JobListWire;
export type NodeView = NodeWire;
export type NodeList = NodeListWire;
export type Catalogue = ScenariosWire;

/** One segment of a job split for segment-parallel encoding. */
export type Segment = NonNullable<JobWire['segments']>[number];
/** A job's view: segments only when the job is split. */
export type JobView = JobWire;

/** A JSON Schema, as far as the page reads it (the OpenAPI document's). */
export interface Schema {
  type?: string;
  enum?: string[];
  default?: unknown;
  description?: string;
  properties?: Record<string, Schema>;
}

export interface OpenApi {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: Schema }[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
}

