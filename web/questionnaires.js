// /app/questionnaires: the questionnaires a patient's therapist asked them to fill in. The open
// ones are listed; choosing one (or opening the page from its push, #request-ID) renders its
// form from the instrument's definition (GET /api/v1/questionnaires/{instrument}): a radio
// group per choice item, a number input with the scale's two anchors per rating, a text input
// per activity name. The server scores the answers; a refused answer is shown beside its item
// (the error's `field` is `answers.<link_id>`). Past scores are listed below, with how each
// compares with the first.
import * as S from '/common.js';

const byId = S.byId;
const form = byId('answer-form');
const definitions = new Map();
let open = [];
let current = null;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** A new id for a submit: a retry of the same form sends the same id, so it stores once. */
function newClientId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return 'q-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
}

async function definition(instrument) {
  if (!definitions.has(instrument)) {
    definitions.set(instrument, await S.api('GET', '/api/v1/questionnaires/' + encodeURIComponent(instrument)));
  }
  return definitions.get(instrument);
}

function inputId(linkId) {
  return 'q-' + linkId;
}

function errorSlot(linkId) {
  const slot = el('p', '', 'field-error');
  slot.id = inputId(linkId) + '-error';
  slot.setAttribute('aria-live', 'polite');
  return slot;
}

/** One item as a form control with its label, hint and error slot. */
function renderItem(item, prefill) {
  const id = inputId(item.link_id);
  const wrap = el('div', null, 'field question');
  if (item.preamble) wrap.append(el('p', item.preamble, 'preamble'));
  if (item.kind === 'choice') {
    const set = el('fieldset', null, 'choice');
    set.id = id;
    set.setAttribute('aria-describedby', id + '-error');
    set.append(el('legend', item.text));
    const options = el('div', null, 'choice-options');
    for (const choice of item.choices) {
      const label = el('label', null, 'choice-option');
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = item.link_id;
      input.value = String(choice.value);
      label.append(input, el('span', choice.label));
      options.append(label);
    }
    set.append(options, errorSlot(item.link_id));
    wrap.append(set);
    return wrap;
  }
  const label = el('label', item.text + (item.required ? '' : ' (optional)'));
  label.htmlFor = id;
  const input = document.createElement('input');
  input.id = id;
  input.name = item.link_id;
  const described = [id + '-error'];
  wrap.append(label);
  if (item.kind === 'integer') {
    input.type = 'number';
    input.inputMode = 'numeric';
    input.min = String(item.min);
    input.max = String(item.max);
    input.step = '1';
    const hint = el('p', item.min + ' = ' + item.low_label + '; ' + item.max + ' = ' + item.high_label + '.', 'hint');
    hint.id = id + '-hint';
    described.unshift(hint.id);
    wrap.append(hint);
  } else {
    input.type = 'text';
    input.maxLength = item.max_chars;
    input.autocomplete = 'off';
    if (prefill[item.link_id]) input.value = prefill[item.link_id];
  }
  input.setAttribute('aria-describedby', described.join(' '));
  wrap.append(input, errorSlot(item.link_id));
  return wrap;
}

/** Shows the form of open questionnaire `request`. */
async function show(request) {
  const def = await definition(request.instrument);
  current = { request, def, clientId: newClientId() };
  const prefilled = Object.keys(request.prefill || {}).length > 0;
  byId('answer-title').textContent = def.title;
  byId('answer-reason').textContent = 'Asked ' + request.reason + '. About ' + def.recall_period + '.';
  byId('answer-instructions').textContent = (prefilled && def.follow_up_instructions) || def.instructions || '';
  byId('answer-notice').textContent = def.licence.notice;
  const items = byId('answer-items');
  items.replaceChildren(...def.items.map((item) => renderItem(item, request.prefill || {})));
  byId('answer').hidden = false;
  byId('answer-title').focus();
}

/** The answers given, by link id: numbers for choices and scales, text for names. */
function answers() {
  const out = {};
  for (const item of current.def.items) {
    if (item.kind === 'choice') {
      const chosen = form.querySelector('input[name="' + item.link_id + '"]:checked');
      if (chosen) out[item.link_id] = Number(chosen.value);
    } else {
      const value = byId(inputId(item.link_id)).value.trim();
      if (value === '') continue;
      out[item.link_id] = item.kind === 'integer' ? Number(value) : value;
    }
  }
  return out;
}

function clearErrors() {
  for (const slot of form.querySelectorAll('.field-error')) slot.textContent = '';
}

/** Puts a refusal beside the item it names, and moves focus there. */
function showRefusal(error) {
  const field = error.body && error.body.field;
  const linkId = field && field.startsWith('answers.') ? field.slice('answers.'.length) : null;
  const slot = linkId ? byId(inputId(linkId) + '-error') : null;
  if (!slot) {
    S.fail(error.message);
    return;
  }
  slot.textContent = S.refusalText(error);
  S.fail('Not sent: please see the message beside the question.');
  const target = byId(inputId(linkId));
  const focus = target && target.tagName === 'FIELDSET' ? target.querySelector('input') : target;
  if (focus) focus.focus();
}

async function submit(event) {
  event.preventDefault();
  if (!current) return;
  clearErrors();
  const button = byId('answer-submit');
  button.disabled = true;
  S.say('Sending…');
  try {
    const path = '/api/v1/me/questionnaires/' + current.request.id + '/response';
    const stored = await S.api('POST', path, { client_id: current.clientId, answers: answers() });
    const def = current.def;
    current = null;
    await load();
    byId('answer').hidden = true;
    S.confirm(
      byId('scores'),
      'Thank you. Your ' + def.title + ' score: ' + stored.score + ' (from ' + def.min + ' to ' + def.max + ', ' +
        (def.direction === 'higher_is_better' ? 'higher is better' : 'lower is better') + ').'
    );
  } catch (error) {
    if (error.status === 422) showRefusal(error);
    else if (S.isCsrfError(error) || error.status === 401) S.showLogin('Please sign in again to send your answers.', start);
    else S.fail(error.message);
  } finally {
    button.disabled = false;
  }
}

function describeChange(point, series) {
  if (point.change === 'better') return 'better than your first by at least ' + series.mid;
  if (point.change === 'worse') return 'worse than your first by at least ' + series.mid;
  if (point.change === 'within_mid') return 'about the same as your first';
  return '';
}

function renderScores(series) {
  const box = byId('scores-list');
  box.replaceChildren();
  for (const s of series) {
    box.append(el('h3', s.title));
    const list = el('ul', null, 'reasons');
    for (const p of s.points.slice().reverse()) {
      const change = describeChange(p, s);
      list.append(el('li', S.formatDateTime(p.answered_at) + ': score ' + p.value + (change ? ' — ' + change : '')));
    }
    box.append(list, el('p', s.notice, 'hint licence'));
  }
  byId('scores').hidden = series.length === 0;
}

function renderOpen() {
  const list = byId('open-list');
  list.replaceChildren();
  for (const request of open) {
    const item = el('li');
    const link = el('a', request.title);
    link.href = '#request-' + request.id;
    link.id = 'open-' + request.id;
    item.append(link, el('span', ' — asked ' + request.reason, 'hint'));
    list.append(item);
  }
  byId('open-none').hidden = open.length > 0;
  byId('open').hidden = false;
}

async function load() {
  const mine = await S.api('GET', '/api/v1/me/questionnaires');
  open = mine.open;
  renderOpen();
  renderScores(mine.series);
}

/** Opens the questionnaire the address names (`#request-ID`), when it is open. */
async function follow() {
  const match = /^#request-(\d+)$/.exec(location.hash);
  const request = match && open.find((r) => String(r.id) === match[1]);
  if (request) await show(request);
  else if (match) S.say('That questionnaire is no longer open.');
}

async function start() {
  await S.startPage(
    async () => {
      await load();
      await follow();
    },
    { patientOnly: true }
  );
}

form.addEventListener('submit', submit);
window.addEventListener('hashchange', () => {
  follow().catch((error) => S.fail(error.message));
});
start();
