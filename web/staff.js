// The care team's shared helpers, imported by every staff page: sign-in and role check,
// plain-words decisions, intervals, the rules fields with their allowed ranges (following
// crates/stepwise-engine/src/rules.rs; the server checks them again), field errors.
import * as S from '/common.js';

function byId(id) {
  return document.getElementById(id);
}

/** An element with text and a class. */
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  if (className) {
    node.className = className;
  }
  return node;
}

/** Seconds as "12 min 30 s". */
function formatInterval(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    return '—';
  }
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const parts = [];
  if (h) parts.push(h + ' h');
  if (m) parts.push(m + ' min');
  if (rest || !parts.length) parts.push(rest + ' s');
  return parts.join(' ');
}

/** A local date "2026-11-16" as "Mon 16 Nov 2026" (no time-zone shift). */
function formatDate(date) {
  if (!date) {
    return '—';
  }
  const [y, m, d] = String(date).split('-').map(Number);
  if (!y || !m || !d) {
    return String(date);
  }
  return new Intl.DateTimeFormat(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** Decisions in plain words. */
const DECISIONS = {
  advance: 'Advance — longer walks',
  hold: 'Hold — same walks',
  regress: 'Step back — shorter walks',
  escalate: 'Escalate — therapist to review',
};

function decisionText(decision) {
  return DECISIONS[decision] || (decision ? String(decision) : 'No review yet');
}

/** "Hold — same walks: 10 min (no change)" for a review output. */
function outcomeText(output) {
  if (!output) {
    return '—';
  }
  let change = '';
  if (output.interval_s !== output.previous_interval_s) {
    change =
      ' (was ' +
      formatInterval(output.previous_interval_s) +
      ', ' +
      (output.change_pct > 0 ? '+' : '') +
      output.change_pct +
      ' %)';
  } else {
    change = ' (no change)';
  }
  return decisionText(output.decision) + ': ' + formatInterval(output.interval_s) + change;
}

/** A list of a review's reasons in the care team's words (its `reason_texts`). */
function reasonsList(reasons) {
  const list = el('ul', null, 'reasons');
  for (const reason of reasons || []) {
    list.append(el('li', reason.text));
  }
  if (!list.children.length) {
    list.append(el('li', 'No reasons given.'));
  }
  return list;
}

const LEVEL_CLASSES = { urgent: 'badge badge-alert', soon: 'badge badge-warn', note: 'badge' };

/**
 * A patient's attention items as the server ranks them (most urgent first, one ranking for
 * the patient list and the pre-visit list): each a badge with its short name (`title`) and
 * the reason in words (`message`), both the server's. A paragraph saying `empty` when there
 * are none.
 */
function attentionList(items, empty) {
  if (!items || !items.length) return el('p', empty, 'hint');
  const list = el('ul', null, 'reasons attention-list');
  for (const a of items) {
    const item = el('li');
    item.dataset.code = a.code;
    item.append(el('span', a.title, LEVEL_CLASSES[a.level] || 'badge'), ' ', el('span', a.message));
    list.append(item);
  }
  return list;
}

/** Whether any item needs more than a note (the row is marked). */
function needsAttention(items) {
  return (items || []).some((a) => a.level === 'urgent' || a.level === 'soon');
}

/**
 * The rules' fields: name, label, what it means, unit and allowed range (see rules.rs).
 * `min` may be a function of the other values (the ceiling is at least the floor).
 */
/**
 * The rules' and the plan's fields (name, label, unit, range, meaning), as the engine's field
 * table has them: filled by loadFields() from GET /api/v1/rules/schema, so a range or a label
 * is written once, in the engine. RULE_FIELDS holds the numbers, RULE_SWITCHES the yes/no rules.
 */
const RULE_FIELDS = [];
const RULE_SWITCHES = [];
const PLAN_FIELDS = [];
let fieldsLoaded = null;

/** A schema entry as an editor field; a bound naming a rule (rules.min_interval_s) follows it. */
function editorField(spec) {
  const follow = (name, fallback, pick) => {
    if (!name) return fallback;
    const rule = name.replace(/^rules\./, '');
    return (values) => (Number.isFinite(values[rule]) ? pick(values[rule], fallback) : fallback);
  };
  return {
    name: spec.name,
    label: spec.label,
    unit: spec.unit,
    help: spec.help,
    min: follow(spec.at_least, spec.minimum, Math.max),
    max: follow(spec.at_most, spec.maximum, Math.min),
  };
}

/** Labels the yes/no rules' checkboxes (ids `${prefix}-${name}`) from the table. */
function labelSwitches(prefix) {
  for (const spec of RULE_SWITCHES) {
    const label = document.querySelector('label[for="' + prefix + '-' + spec.name + '"]');
    if (label) label.textContent = spec.label;
  }
}

/** Loads the field tables once per page (before any editor is built). */
function loadFields() {
  if (!fieldsLoaded) {
    fieldsLoaded = S.api('GET', '/api/v1/rules/schema').then((schema) => {
      for (const spec of schema.rules) {
        if (spec.type === 'boolean') RULE_SWITCHES.push(spec);
        else RULE_FIELDS.push(editorField(spec));
      }
      for (const spec of schema.plan) PLAN_FIELDS.push(editorField(spec));
    });
    fieldsLoaded.catch(() => {
      fieldsLoaded = null;
    });
  }
  return fieldsLoaded;
}

function bound(value, values) {
  return typeof value === 'function' ? value(values) : value;
}

/**
 * Durations (fields whose API unit is seconds) are entered and shown in minutes: the API
 * stays in seconds, converted here. Minutes may have decimals (5.5 = 5 min 30 s).
 */
function inMinutes(f) {
  return f.unit === 'seconds';
}

/** Seconds as minutes for an input: 330 → "5.5" (two decimals at most). */
function minutesValue(seconds) {
  return String(Math.round((seconds / 60) * 100) / 100);
}

/** A bound in words for a minutes field: 60 → "1 minute", 90 → "1.5 minutes", 1 → "1 second". */
function minutesWords(seconds) {
  if (seconds < 60 && seconds % 60 !== 0) return seconds + (seconds === 1 ? ' second' : ' seconds');
  const minutes = minutesValue(seconds);
  return minutes + (minutes === '1' ? ' minute' : ' minutes');
}

/** "from 10 to 20 %" / "from 1 minute to 240 minutes": a field's allowed range in words. */
function rangeWords(f, min, max) {
  if (inMinutes(f)) return 'from ' + minutesWords(min) + ' to ' + minutesWords(max);
  const unit = f.unit && f.unit !== '/10' ? ' ' + f.unit : '';
  return 'from ' + min + ' to ' + max + unit;
}

/**
 * Builds number inputs for `fields` into `container` (ids `${prefix}-${name}`), each with
 * its label, allowed range, meaning and an error slot. Returns an editor:
 *   values() → {name: number|NaN}, set(values), refreshRanges(), setError(name, text),
 *   clearErrors(), firstInvalid() (client-side range check: [name, text] or null).
 */
function numberEditor(container, fields, prefix, onInput) {
  const inputs = {};
  const errors = {};
  const ranges = {};
  for (const f of fields) {
    const id = prefix + '-' + f.name;
    const wrap = el('div', null, 'field rule-field');
    const label = el('label', f.label + (inMinutes(f) ? ' (minutes)' : f.unit ? ' (' + f.unit + ')' : ''));
    label.htmlFor = id;
    const input = document.createElement('input');
    input.type = 'number';
    input.id = id;
    input.name = f.name;
    input.inputMode = inMinutes(f) ? 'decimal' : 'numeric';
    input.step = inMinutes(f) ? 'any' : '1';
    input.required = true;
    const range = el('p', '', 'hint range');
    range.id = id + '-range';
    const err = el('p', '', 'field-error');
    err.id = id + '-error';
    err.setAttribute('aria-live', 'polite');
    input.setAttribute('aria-describedby', range.id + ' ' + err.id);
    input.addEventListener('input', () => {
      err.textContent = '';
      input.removeAttribute('aria-invalid');
      if (f.name === 'min_interval_s' || f.name === 'max_interval_s') {
        editor.refreshRanges();
      }
      if (onInput) onInput(f.name);
    });
    wrap.append(label, input, range, err);
    container.append(wrap);
    inputs[f.name] = input;
    errors[f.name] = err;
    ranges[f.name] = { f, node: range };
  }
  const editor = {
    inputs,
    /** The values as the API has them (durations in seconds); NaN for an empty field. */
    values() {
      const out = {};
      for (const f of fields) {
        const raw = inputs[f.name].value.trim();
        const value = raw === '' ? NaN : Number(raw);
        out[f.name] = inMinutes(f) && Number.isFinite(value) ? Math.round(value * 60) : value;
      }
      return out;
    },
    set(values) {
      for (const f of fields) {
        if (values && values[f.name] !== undefined) {
          const v = values[f.name];
          inputs[f.name].value = inMinutes(f) && typeof v === 'number' ? minutesValue(v) : String(v);
        }
      }
      editor.refreshRanges();
    },
    /** Shows each field's allowed range; `context` supplies values the bounds depend on. */
    refreshRanges(context) {
      const values = Object.assign({}, context || {}, editor.values());
      for (const { f, node } of Object.values(ranges)) {
        const min = bound(f.min, values);
        const max = bound(f.max, values);
        inputs[f.name].min = inMinutes(f) ? minutesValue(min) : String(min);
        inputs[f.name].max = inMinutes(f) ? minutesValue(max) : String(max);
        const text = 'Allowed: ' + rangeWords(f, min, max).replace(/^from /, '') + '.';
        node.textContent = f.help ? text + ' ' + f.help : text;
      }
    },
    /**
     * What to say when a field's value is refused: its allowed range in the units shown
     * (the server's own words name fields and ranges as the API has them).
     */
    refusal(name, context) {
      const f = fields.find((x) => x.name === name);
      if (!f) return null;
      const values = Object.assign({}, context || {}, editor.values());
      const min = bound(f.min, values);
      const max = bound(f.max, values);
      return (inMinutes(f) ? 'Enter a number of minutes ' : 'Enter a whole number ') + rangeWords(f, min, max) + '.';
    },
    setError(name, text) {
      if (errors[name]) {
        errors[name].textContent = text;
        inputs[name].setAttribute('aria-invalid', 'true');
        return true;
      }
      return false;
    },
    clearErrors() {
      for (const name of Object.keys(errors)) {
        errors[name].textContent = '';
        inputs[name].removeAttribute('aria-invalid');
      }
    },
    /**
     * The first field that is not a whole number ([name, text]), or null. With `range`, also
     * one outside its allowed range (otherwise the server's refusal says so, next to it).
     */
    firstInvalid(context, range) {
      const values = Object.assign({}, context || {}, editor.values());
      for (const f of fields) {
        const v = values[f.name];
        const min = bound(f.min, values);
        const max = bound(f.max, values);
        const raw = Number(inputs[f.name].value.trim() || NaN);
        const typed = inMinutes(f) ? Number.isFinite(raw) : Number.isInteger(v);
        if (!typed || (range && (v < min || v > max))) {
          return [f.name, editor.refusal(f.name, context)];
        }
      }
      return null;
    },
    focus(name) {
      if (inputs[name]) inputs[name].focus();
    },
  };
  return editor;
}

/**
 * Shows a server refusal ({error, field, allowed}) next to its field when `editors` has it
 * (field "rules.increase_pct", "plan.bouts" or "increase_pct"), in words: the field's
 * allowed range in the units the page shows; returns true if shown.
 */
function showFieldError(error, editors) {
  const body = error && error.body;
  if (!body || typeof body.field !== 'string') {
    return false;
  }
  const parts = body.field.split('.');
  const name = parts[parts.length - 1];
  const group = parts.length > 1 ? parts[0] : null;
  for (const [key, editor] of Object.entries(editors)) {
    const text = editor.refusal(name) || S.refusalText(error);
    if ((group === null || group === key) && editor.setError(name, text)) {
      editor.focus(name);
      return true;
    }
  }
  return false;
}

/** Time zones offered first; any IANA name may be typed. */
const ZONES = [
  'Europe/London',
  'Europe/Dublin',
  'Europe/Lisbon',
  'Europe/Berlin',
  'Europe/Paris',
  'Europe/Madrid',
  'Europe/Rome',
  'Europe/Amsterdam',
  'Europe/Stockholm',
  'Europe/Warsaw',
  'Europe/Athens',
  'Europe/Helsinki',
  'America/New_York',
  'America/Chicago',
  'America/Denver',
  'America/Los_Angeles',
  'America/Toronto',
  'America/Sao_Paulo',
  'Asia/Kolkata',
  'Asia/Singapore',
  'Asia/Tokyo',
  'Australia/Sydney',
  'Pacific/Auckland',
  'UTC',
];

/** Fills a <datalist> with time zones (this browser's first) and the input with this browser's. */
function fillZones(list, input) {
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const zone of [here, ...ZONES.filter((z) => z !== here)]) {
    if (zone) list.append(new Option(zone, zone));
  }
  if (!input.value) input.value = here || 'Europe/London';
}

/** Pages' sign-in: loads /me, shows the sign-in form when needed, checks the role. */
function boot(start, roles) {
  const run = () =>
    S.startPage(show, {
      signedOut: () => {
        byId('content').hidden = true;
      },
    });
  async function show(me) {
    const allowed = roles || ['therapist', 'clinic_admin'];
    if (!allowed.includes(me.user.role)) {
      byId('content').hidden = true;
      S.fail('This page is for ' + (allowed.includes('therapist') ? 'the care team' : 'clinic admins') + '.');
      return;
    }
    const who = byId('who');
    if (who) {
      who.textContent =
        'Signed in as ' + me.user.display_name + (me.user.role === 'clinic_admin' ? ' (clinic admin)' : ' (therapist)') + '.';
      who.hidden = false;
    }
    byId('content').hidden = false;
    try {
      await start(me);
    } catch (error) {
      handle(error, run);
    }
  }
  return run();
}

/** Shows an API failure; a lost sign-in or CSRF token brings back the sign-in form. */
function handle(error, retry) {
  if (S.isCsrfError(error)) {
    S.csrf.clear();
    S.showLogin('Sign in again to make changes.', retry);
    S.fail('Sign in again to make changes.');
  } else if (error && error.status === 404 && idFromPath()) {
    S.fail('This patient was not found, or is not in your care.');
  } else if (error && error.status === 401) {
    S.csrf.clear();
    S.showLogin('', retry);
    S.fail('Your sign-in has ended. Please sign in again.');
  } else {
    S.fail((error && error.message) || String(error));
  }
}

/** The number at the end of the address (/app/patient/12 → 12), or null. */
function idFromPath() {
  const match = location.pathname.match(/\/(\d+)\/?$/);
  return match ? Number(match[1]) : null;
}

/**
 * A table row for one patient, marked when their attention needs a look, and its row header:
 * the name, a link to their page. The caller appends the header and the other cells.
 */
function patientRow(id, displayName, attention) {
  const tr = el('tr', null, needsAttention(attention) ? 'attention' : '');
  tr.dataset.patientId = String(id);
  const name = el('th');
  name.scope = 'row';
  const link = el('a', displayName);
  link.href = '/app/patient/' + id;
  name.append(link);
  return { tr, name };
}

/** Today's date in the IANA zone `zone`, "YYYY-MM-DD" (the browser's UTC date if the zone is unknown). */
function todayIn(zone) {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

/** A time entry's live conversation in words (the API's `live`). */
const LIVE_WORDS = { call: 'phone call', video: 'video call', in_person: 'in person' };

export {
  todayIn,
  LIVE_WORDS,
  patientRow,
  el,
  byId,
  formatInterval,
  formatDate,
  decisionText,
  outcomeText,
  reasonsList,
  attentionList,
  needsAttention,
  RULE_FIELDS,
  RULE_SWITCHES,
  PLAN_FIELDS,
  loadFields,
  labelSwitches,
  inMinutes,
  numberEditor,
  showFieldError,
  boot,
  handle,
  idFromPath,
  fillZones,
};
