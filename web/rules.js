// The rules editor page (/app/rules/{id}): every rule with its allowed range, a live preview of
// the last weeks replayed under the edited rules (POST …/rules/preview), save (PUT …/rules)
// and the version history. The server's {error, field, allowed} answer is shown next to the
// field.
import * as S from '/common.js';
import { el, byId, formatInterval, formatDate, decisionText, outcomeText, reasonsList, RULE_FIELDS, RULE_SWITCHES, loadFields, labelSwitches, numberEditor, showFieldError, boot, handle, idFromPath, inMinutes } from '/staff.js';

const id = idFromPath();
let current = null; // {version, rules}
let editor = null;
let verified = null;
let previewTimer = 0;
let previewSeq = 0;

/** The edited rules as a body: every field. */
function editedRules() {
  const rules = Object.assign({}, editor.values());
  rules.require_verified = verified.checked;
  rules.require_next_morning = byId('rule-require_next_morning').checked;
  return rules;
}

/** The fields that differ from the version in force. */
function changedFields() {
  const edited = editedRules();
  return Object.keys(edited).filter((k) => edited[k] !== current.rules[k]);
}

function schedulePreview() {
  clearTimeout(previewTimer);
  byId('preview-state').textContent = 'Updating the preview…';
  previewTimer = setTimeout(preview, 350);
}

async function preview() {
  const seq = ++previewSeq;
  const edited = editedRules();
  editor.clearErrors();
  const bad = editor.firstInvalid(null, true);
  if (bad) {
    editor.setError(bad[0], bad[1]);
    byId('preview-state').textContent = 'The preview waits for every rule to be within its allowed range.';
  }
  const changes = {};
  for (const k of Object.keys(edited)) {
    if (!Number.isNaN(edited[k])) changes[k] = edited[k];
  }
  let answer;
  try {
    answer = await S.api('POST', '/api/v1/patients/' + id + '/rules/preview', { rules: changes, weeks: 8 });
  } catch (error) {
    if (seq !== previewSeq) return;
    if (showFieldError(error, { rules: editor })) {
      byId('preview-state').textContent = 'No preview: a rule is outside its allowed range; see the message next to it.';
    } else {
      handle(error, start);
      byId('preview-state').textContent = 'No preview: it could not be made just now.';
    }
    return;
  }
  if (seq !== previewSeq) return;
  renderPreview(answer);
}

function sameOutcome(a, b) {
  return a.decision === b.decision && a.interval_s === b.interval_s;
}

function renderPreview(answer) {
  const weeks = answer.weeks || [];
  const body = byId('preview-rows');
  const sameBody = byId('preview-same-rows');
  body.replaceChildren();
  sameBody.replaceChildren();
  const changed = weeks.filter((w) => !sameOutcome(w.was, w.would_be)).length;
  // The weeks whose decision would change come first; when some do, the unchanged ones wait
  // in a collapsed list below them (newest first in both).
  const ordered = weeks
    .slice()
    .reverse()
    .sort((a, b) => Number(sameOutcome(a.was, a.would_be)) - Number(sameOutcome(b.was, b.would_be)));
  for (const week of ordered) {
    const differs = !sameOutcome(week.was, week.would_be);
    const row = el('tr', null, differs ? 'changed' : 'same');
    row.dataset.weekStart = week.week_start;
    row.dataset.changed = differs ? 'yes' : 'no';
    row.append(el('th', formatDate(week.week_start)));
    row.lastChild.scope = 'row';
    for (const output of [week.was, week.would_be]) {
      const cell = el('td');
      cell.append(el('p', outcomeText(output), 'outcome'), reasonsList(output.reason_texts));
      row.append(cell);
    }
    const mark = el('td');
    mark.append(el('strong', differs ? 'Changed' : 'Same', differs ? 'badge badge-changed' : 'badge'));
    row.append(mark);
    (differs || changed === 0 ? body : sameBody).append(row);
  }
  byId('preview-table').hidden = weeks.length === 0;
  const same = weeks.length - changed;
  byId('preview-same').hidden = changed === 0 || same === 0;
  byId('preview-same-summary').textContent = same + ' week' + (same === 1 ? '' : 's') + ' decided the same (show)';
  byId('preview-empty').hidden = weeks.length > 0;
  const edits = changedFields().length;
  byId('preview-state').textContent =
    weeks.length === 0
      ? 'No weekly reviews yet, so there is nothing to replay.'
      : (edits === 0 ? 'No edits yet: the rules in force, replayed. ' : edits + ' rule' + (edits === 1 ? '' : 's') + ' edited. ') +
        changed +
        ' of ' +
        weeks.length +
        ' week' +
        (weeks.length === 1 ? '' : 's') +
        ' would have been decided differently.';
  byId('preview-summary').dataset.changedWeeks = String(changed);
  byId('preview-jump').href = '#preview';
  byId('preview-jump').textContent =
    weeks.length === 0 ? 'Preview: no reviewed weeks yet' : 'Preview: ' + changed + ' of ' + weeks.length + ' weeks would change';
}

async function save(event) {
  event.preventDefault();
  editor.clearErrors();
  const bad = editor.firstInvalid();
  if (bad) {
    editor.setError(bad[0], bad[1]);
    editor.focus(bad[0]);
    S.fail('Not saved: a rule needs a value within its allowed range; see the message next to the field.');
    return;
  }
  const changes = {};
  const edited = editedRules();
  for (const k of changedFields()) changes[k] = edited[k];
  if (!Object.keys(changes).length) {
    S.confirm(byId('rules-form'), 'Nothing changed: the rules in force are kept.');
    return;
  }
  const button = byId('save');
  button.disabled = true;
  try {
    const saved = await S.api('PUT', '/api/v1/patients/' + id + '/rules', changes);
    await load();
    S.confirm(byId('rules-form'), 'Saved as version ' + saved.version + '. The next weekly review uses these rules.');
  } catch (error) {
    if (showFieldError(error, { rules: editor })) {
      S.fail('Not saved: see the message next to the field.');
    } else {
      handle(error, start);
    }
  } finally {
    button.disabled = false;
  }
}

function renderHistory(history) {
  const list = byId('history-list');
  list.replaceChildren();
  const versions = history.slice().reverse();
  versions.forEach((v, i) => {
    const item = el('li');
    item.dataset.version = String(v.version);
    const title = el('p', null, 'history-title');
    title.append(el('strong', 'Version ' + v.version));
    title.append(document.createTextNode(' — saved ' + S.formatDateTime(v.created_at) + (i === 0 ? ' (in force)' : '')));
    item.append(title);
    const older = versions[i + 1];
    const changes = el('ul', null, 'reasons');
    if (older) {
      for (const f of RULE_FIELDS) {
        if (older.rules[f.name] !== v.rules[f.name]) {
          const words = (x) => (inMinutes(f) ? formatInterval(x) : String(x));
          changes.append(el('li', f.label + ': ' + words(older.rules[f.name]) + ' → ' + words(v.rules[f.name])));
        }
      }
      for (const f of RULE_SWITCHES) {
        if (Boolean(older.rules[f.name]) !== Boolean(v.rules[f.name])) {
          changes.append(el('li', f.label + ': ' + (v.rules[f.name] ? 'yes' : 'no')));
        }
      }
      if (!changes.children.length) changes.append(el('li', 'No change from version ' + older.version + '.'));
    } else {
      changes.append(el('li', 'The first rules (the clinic defaults).'));
    }
    item.append(changes);
    list.append(item);
  });
}

async function load() {
  const [view, detail] = await Promise.all([
    S.api('GET', '/api/v1/patients/' + id + '/rules'),
    S.api('GET', '/api/v1/patients/' + id),
  ]);
  current = view.current;
  byId('patient-name').textContent = detail.patient.display_name;
  byId('patient-link').href = '/app/patient/' + id;
  byId('version').textContent = 'Version ' + current.version + ' is in force (saved ' + S.formatDateTime(current.created_at) + ').';
  editor.set(current.rules);
  verified.checked = Boolean(current.rules.require_verified);
  byId('rule-require_next_morning').checked = Boolean(current.rules.require_next_morning);
  renderHistory(view.history);
  await preview();
}

async function start() {
  if (!id) {
    S.fail('No patient in this address: open the rules from a patient page.');
    return;
  }
  if (!editor) {
    await loadFields();
    labelSwitches('rule');
    editor = numberEditor(byId('rules-fields'), RULE_FIELDS, 'rule', schedulePreview);
    verified = byId('rule-require_verified');
    verified.addEventListener('change', schedulePreview);
    byId('rule-require_next_morning').addEventListener('change', schedulePreview);
    byId('rules-form').addEventListener('submit', save);
    byId('reset').addEventListener('click', () => {
      editor.clearErrors();
      editor.set(current.rules);
      verified.checked = Boolean(current.rules.require_verified);
      byId('rule-require_next_morning').checked = Boolean(current.rules.require_next_morning);
      schedulePreview();
    });
  }
  await load();
}

boot(start);
