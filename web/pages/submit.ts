/**
 * Submit: a form built from the job request's schema in the master's document (the schema the API
 * validates with) and the scenario catalogue (GET /scenarios). The page checks nothing itself: the
 * API does, and each problem its 400 names is shown next to the field it names.
 */
import { api, ApiError, fieldErrors } from '../api.js';
import { h, notice } from '../dom.js';
import { jobRequestSchema } from '../schema.js';
import type { Catalogue, JobView, Schema } from '../types.js';

/** Said once, at the top level: the parameters' engine is the same choice, for the spec's clients. */
const SKIP = new Set(['parameters.engine']);

export async function submitPage(main: HTMLElement, signal: AbortSignal): Promise<void> {
  main.append(h('h1', {}, 'Submit a job'));
  let schema: Schema;
  let catalogue: Catalogue;
  try {
    [schema, catalogue] = await Promise.all([jobRequestSchema(), api<Catalogue>('GET', '/scenarios', undefined, signal)]);
  } catch (err) {
    main.append(notice('error', `Could not read the job schema: ${(err as Error).message}`));
    return;
  }

  const formError = h('div', { class: 'messages' });
  const form = h('form', { class: 'submit', novalidate: true });
  const fields = new Map<string, HTMLInputElement | HTMLSelectElement>();

  const field = (path: string, s: Schema, label: string): HTMLElement => {
    const id = `f-${path.replace('.', '-')}`;
    const hint = s.description ? h('p', { class: 'hint', id: `${id}-hint` }, s.description) : '';
    const error = h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': path });
    let input: HTMLInputElement | HTMLSelectElement;
    if (s.enum || s.type === 'boolean') {
      const options = s.enum ?? ['true', 'false'];
      input = h('select', { id, name: path, 'data-type': s.type === 'boolean' ? 'boolean' : undefined }, ...(s.default === undefined ? [h('option', { value: '' }, 'default')] : []), ...options.map((o) => h('option', { value: o, selected: o === s.default }, o)));
    } else {
      // text, numbers included: a value the API refuses must reach it, to be refused in its words
      input = h('input', { id, name: path, type: 'text', autocomplete: 'off', spellcheck: 'false', ...(s.type === 'number' || s.type === 'integer' ? { inputmode: 'decimal', 'data-type': 'number' } : {}) });
    }
    input.setAttribute('aria-describedby', [hint ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '));
    fields.set(path, input);
    return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint, error);
  };

  const top = schema.properties!;
  const scenario = field('scenario', { ...top.scenario!, description: `A preset or any name of the form ${catalogue.grammar}` }, 'Scenario');
  const list = h('datalist', { id: 'scenario-presets' }, ...catalogue.presets.map((p) => h('option', { value: p.name }, `${p.width}×${p.height} ${p.fps} fps ${p.codec}, ${p.bitrate_kbps} kbit/s`)));
  fields.get('scenario')!.setAttribute('list', list.id);
  (fields.get('scenario') as HTMLInputElement).value = catalogue.presets[0]?.name ?? '';

  const general = h('fieldset', {}, h('legend', {}, 'Job'), scenario, list);
  for (const [name, s] of Object.entries(top)) if (name !== 'scenario' && name !== 'parameters') general.append(field(name, s, labelOf(name)));
  const parameters = h('fieldset', {}, h('legend', {}, 'Parameters'));
  for (const [name, s] of Object.entries(top.parameters?.properties ?? {})) if (!SKIP.has(`parameters.${name}`)) parameters.append(field(`parameters.${name}`, s, labelOf(name)));

  const encoders = h(
    'details',
    {},
    h('summary', {}, 'Encoders and their presets'),
    h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Encoders', tabindex: 0 }, h('table', {}, h('thead', {}, h('tr', {}, ...['Encoder', 'Engine', 'Codec', 'Needs', 'Presets (default)'].map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, ...catalogue.encoders.map((e) => h('tr', {}, h('td', {}, e.name), h('td', {}, e.engine), h('td', {}, e.codec), h('td', {}, e.capability), h('td', {}, `${e.presets.join(', ')} (${e.default_preset})`)))))),
  );
  const submit = h('button', { type: 'submit' }, 'Submit job');
  form.append(general, parameters, encoders, formError, h('div', { class: 'controls' }, submit));
  main.append(form);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void send();
  });

  const clearErrors = (): void => {
    formError.replaceChildren();
    for (const [path, input] of fields) {
      input.removeAttribute('aria-invalid');
      form.querySelector(`[data-error-for="${path}"]`)!.textContent = '';
    }
  };

  async function send(): Promise<void> {
    clearErrors();
    submit.disabled = true;
    try {
      const job = await api<JobView>('POST', '/jobs', bodyOf(fields), signal);
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      if (signal.aborted) return;
      if (!(err instanceof ApiError) || err.status !== 400) return void formError.replaceChildren(notice('error', `Not submitted: ${(err as Error).message}`));
      let first: HTMLElement | undefined;
      const rest: string[] = [];
      for (const [path, text] of fieldErrors(err.message)) {
        const input = fields.get(path);
        if (!input) {
          rest.push(path ? `${path}: ${text}` : text);
          continue;
        }
        input.setAttribute('aria-invalid', 'true');
        form.querySelector(`[data-error-for="${path}"]`)!.textContent = text;
        first ??= input;
      }
      formError.replaceChildren(notice('error', rest.length > 0 ? `Not submitted: ${rest.join('; ')}` : 'Not submitted: see the marked fields.'));
      first?.focus();
    } finally {
      submit.disabled = false;
    }
  }
}

/** A field's name as its label: max_retries → Max retries. */
function labelOf(name: string): string {
  return name[0]!.toUpperCase() + name.slice(1).replace(/_/g, ' ');
}

/** The request the fields say: empty ones left out (the API's defaults apply), numbers as numbers where they read as one. */
function bodyOf(fields: Map<string, HTMLInputElement | HTMLSelectElement>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const parameters: Record<string, unknown> = {};
  for (const [path, input] of fields) {
    const raw = input.value.trim();
    if (raw === '') continue;
    let value: unknown = raw;
    if (input.dataset.type === 'number' && Number.isFinite(Number(raw))) value = Number(raw);
    if (input.dataset.type === 'boolean') value = raw === 'true';
    if (path.startsWith('parameters.')) parameters[path.slice('parameters.'.length)] = value;
    else body[path] = value;
  }
  return { ...body, parameters };
}
