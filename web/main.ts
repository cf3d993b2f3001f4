/**
 * The dashboard's entry: the key form, and hash routes to the pages (#/jobs, #/jobs/<id>,
 * #/submit, #/nodes, #/energy). A route change aborts the previous page's signal, which ends its
 * event streams and timers.
 */
import { api, apiKey, ApiError, UNAUTHORIZED_EVENT } from './api.js';
import { h, notice } from './dom.js';
import { energyPage } from './pages/energy.js';
import { jobPage } from './pages/job.js';
import { jobsPage } from './pages/jobs.js';
import { nodesPage } from './pages/nodes.js';
import { submitPage } from './pages/submit.js';
import { samplePower } from './power.js';

const main = document.getElementById('main')!;
const signOut = document.getElementById('sign-out') as HTMLButtonElement;
let current: AbortController | undefined;

async function route(): Promise<void> {
  current?.abort();
  const controller = (current = new AbortController());
  const [path = '', search = ''] = location.hash.replace(/^#/, '').split('?');
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean);
  main.replaceChildren();
  const section = parts[0] ?? 'jobs';
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#/${section}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const pages: Record<string, () => Promise<void>> = {
    jobs: () => (parts[1] ? jobPage(main, decodeURIComponent(parts[1]), controller.signal) : jobsPage(main, query, controller.signal)),
    submit: () => submitPage(main, controller.signal),
    nodes: () => nodesPage(main, controller.signal),
    energy: () => energyPage(main, controller.signal),
  };
  const page = pages[section];
  if (!page) {
    main.append(h('h1', {}, 'Not found'), notice('error', `No page ${location.hash}.`), h('p', {}, h('a', { href: '#/jobs' }, 'Go to the jobs')));
    return;
  }
  try {
    await page();
  } catch (err) {
    if (!controller.signal.aborted && !(err instanceof ApiError && err.status === 401)) main.append(notice('error', `This page failed: ${(err as Error).message}`));
  }
  if (controller.signal.aborted) return;
  document.title = `${main.querySelector('h1')?.textContent ?? 'ffrtmp'} · ffrtmp`;
  // a new page: its heading is where a screen reader continues
  main.querySelector('h1')?.setAttribute('tabindex', '-1');
  if (document.activeElement === document.body || document.activeElement?.closest('nav')) main.querySelector<HTMLElement>('h1')?.focus();
}

/** The key form: the key is checked against the API before it is kept. */
function askForKey(message?: string): void {
  current?.abort();
  current = undefined;
  signOut.hidden = true;
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'api-key-hint' });
  const status = h('div', { class: 'messages' }, message ? notice('error', message) : '');
  const form = h(
    'form',
    { class: 'key-form' },
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input, h('p', { class: 'hint', id: 'api-key-hint' }, 'The master\'s API key (FFMPEG_RTMP_API_KEY). Kept in this tab only, until it closes.')),
    status,
    h('div', { class: 'controls' }, h('button', { type: 'submit' }, 'Open the dashboard')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apiKey.set(input.value.trim());
    void start().catch((err: unknown) => {
      if (!(err instanceof ApiError && err.status === 401)) status.replaceChildren(notice('error', `The master did not answer: ${(err as Error).message}`));
    });
  });
  main.replaceChildren(h('h1', {}, 'Sign in'), form);
  input.focus();
}

/** With a key (or none, where the master takes a client certificate or needs no key): the app. */
async function start(): Promise<void> {
  await api('GET', '/scenarios');
  signOut.hidden = false;
  samplePower();
  if (!location.hash) history.replaceState(null, '', '#/jobs');
  await route();
}

window.addEventListener(UNAUTHORIZED_EVENT, (e) => askForKey((e as CustomEvent<boolean>).detail ? 'The master refused this API key. Enter it again.' : undefined));
window.addEventListener('hashchange', () => {
  if (!signOut.hidden) void route();
});
signOut.addEventListener('click', () => {
  apiKey.clear();
  askForKey();
});
// the skip link moves focus without changing the hash (the hash is the router's)
document.querySelector('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

start().catch((err: unknown) => {
  if (!(err instanceof ApiError && err.status === 401)) main.replaceChildren(h('h1', {}, 'ffrtmp'), notice('error', `The master did not answer: ${(err as Error).message}`));
});
