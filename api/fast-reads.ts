/**
 * The lean path for the reads clients repeat most — `GET /jobs/{id}` and `GET /jobs` — served on
 * node:http directly, past express: express's router and middleware chain alone cap a bare route
 * at about 5,900 requests/s on a 2-core machine (measured), under the 5,000 the front door must
 * serve with everything else it does. Everything a request meets is the same as on the express
 * path: the same gate (authentication, rate limit, metrics, log line), the same route table entry
 * run by the same route runner, the same answers. Anything else — another method, another path,
 * a trailing slash — goes to express untouched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import querystring from 'node:querystring';
import { isJobUuid } from '../domain/ids';
import type { Logger } from '../lib/logger';
import { send } from './app';
import { jobOfAnswer, type Gate, type JobLogFields } from './gate';
import { errorAnswer, runRoute } from './route-runner';
import { ROUTES, type RouteContext, type RouteSpec } from './routes';

const ONE_JOB = /^\/jobs\/([^/]+)$/;

export function fastReads(ctx: RouteContext, gate: Gate, logger: Logger): (req: IncomingMessage, res: ServerResponse) => boolean {
  const route = (path: string): RouteSpec => {
    const r = ROUTES.find((x) => x.method === 'get' && x.path === path);
    if (!r) throw new Error(`no route GET ${path} in the table`);
    return r;
  };
  const oneJob = route('/jobs/:id');
  const list = route('/jobs');

  return (req, res) => {
    if (req.method !== 'GET' || !req.url) return false;
    const q = req.url.indexOf('?');
    const pathname = q < 0 ? req.url : req.url.slice(0, q);
    const m = ONE_JOB.exec(pathname);
    const spec = m ? oneJob : pathname === '/jobs' ? list : undefined;
    if (!spec) return false;
    let params: Record<string, string>;
    try {
      params = m ? { id: decodeURIComponent(m[1]!) } : {};
    } catch {
      return false; // a malformed escape: express answers it
    }
    let job: JobLogFields | undefined = params.id && isJobUuid(params.id) ? { job_id: params.id, attempt: null, node: null } : undefined;
    gate.observe(req, res, () => ({ route: spec.path, job }));
    void (async () => {
      const admission = await gate.admit(req);
      if ('refused' in admission) return send(res, admission.refused);
      const answer = await runRoute(spec, ctx, {
        params,
        query: q < 0 ? {} : querystring.parse(req.url!.slice(q + 1)),
        body: undefined,
        headers: {},
        principal: admission.principal.id,
      });
      job = jobOfAnswer(answer.body) ?? job;
      send(res, { ...answer, headers: { ...admission.headers, ...answer.headers } });
    })().catch((err: unknown) => {
      logger.error({ err, req: { method: req.method, url: req.url } }, 'unexpected error');
      send(res, errorAnswer(500, 'internal error'));
    });
    return true;
  };
}
