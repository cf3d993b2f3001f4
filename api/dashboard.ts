/**
 * The web dashboard's files (dist/ui/web, built from web/ by web/tsconfig.json): `/` is its page and
 * `/ui/<file>` its modules and style sheet. They are read into memory once, at start (a handful of
 * small files), so no request reaches the file system with a name it chose. Served without
 * authentication and outside the route table (they are not the API, and not in its document): the
 * files hold no data; every figure the page shows comes from the API, with the operator's key.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/**
 * Where the build puts the dashboard: dist/ui/web (web/tsconfig.json compiles from the project's
 * root, so the page's modules land under ui/web/ and the domain types they import, never served,
 * under ui/domain/), with the static files copied in.
 */
export const DASHBOARD_DIR = path.resolve(__dirname, '..', 'ui', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The page may talk to its own origin only: a script injected through a job's text could not send the key elsewhere. */
const HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // small files, and a new build must show at once
  'Cache-Control': 'no-cache',
};

interface Asset {
  body: Buffer;
  type: string;
}

function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return assets; // not built: the paths answer the API's 404
  }
  for (const rel of entries) {
    const type = TYPES[path.extname(rel)];
    if (type) assets.set(`/ui/${rel.split(path.sep).join('/')}`, { body: readFileSync(path.join(dir, rel)), type });
  }
  const index = assets.get('/ui/index.html');
  if (index) assets.set('/', index);
  return assets;
}

/** A handler that answers GET and HEAD of the dashboard's files, and says false for anything else. */
export function dashboardFiles(dir = DASHBOARD_DIR): (req: IncomingMessage, res: ServerResponse) => boolean {
  const assets = readAssets(dir);
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const q = req.url?.indexOf('?') ?? -1;
    const asset = assets.get(q < 0 ? (req.url ?? '') : req.url!.slice(0, q));
    if (!asset) return false;
    res.writeHead(200, { ...HEADERS, 'Content-Type': asset.type, 'Content-Length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  };
}
