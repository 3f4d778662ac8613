// Imports of a phone app's export (Gadgetbridge, Apple Health, Fitbit in Google Takeout), shared
// by the patient's /app/import and the care team's patient page: the upload with its progress,
// following the import while the server reads it, and every import in plain words.
//
// Both pages hold the same elements:
//   #import-form with #import-file (its error #import-file-error) and #import-submit;
//   #import-status (role=status: Uploading… / Reading… / Storing…) and #import-progress;
//   #import-result (the outcome of the upload just made, focused when it shows);
//   #import-list (earlier imports, newest first) and #import-empty.
import * as S from '/common.js';

const byId = S.byId;

/** How long to wait between two looks at an import being read. */
const POLL_MS = 1000;

/** How many looks in a row may fail to reach the server before the page gives up following. */
const MISSES_ALLOWED = 30;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** 1234 as "1,234" (in the browser's language). */
function number(n) {
  return new Intl.NumberFormat().format(Number(n) || 0);
}

/** "1 night", "3 nights". */
function counted(n, one, many) {
  return number(n) + ' ' + (n === 1 ? one : many || one + 's');
}

/** ["a"] "a"; ["a", "b"] "a and b"; ["a", "b", "c"] "a, b and c". */
function inWords(items) {
  if (items.length <= 1) return items.join('');
  return items.slice(0, -1).join(', ') + ' and ' + items[items.length - 1];
}

/** A size in bytes as people read it: "850 bytes", "12 KB", "3.4 MB", "1.2 GB". */
function size(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1000) return counted(n, 'byte');
  const units = [['GB', 1e9], ['MB', 1e6], ['KB', 1e3]];
  const [unit, scale] = units.find(([, s]) => n >= s);
  const value = n / scale;
  return (value < 10 ? value.toFixed(1) : String(Math.round(value))) + ' ' + unit;
}

/** A local day "2026-03-02" as "2 March" (with the year when `withYear`), no time-zone shift. */
function day(text, withYear) {
  const [y, m, d] = String(text).split('-').map(Number);
  if (!y || !m || !d) return String(text);
  const options = { day: 'numeric', month: 'long', timeZone: 'UTC' };
  if (withYear) options.year = 'numeric';
  return new Intl.DateTimeFormat(undefined, options).format(new Date(Date.UTC(y, m - 1, d)));
}

/** "(2 March)" or "(2 March to 4 March)"; the years are said when they differ. */
function daySpan(first, last) {
  if (!first || !last) return '';
  if (first === last) return ' (' + day(first) + ')';
  const years = first.slice(0, 4) !== last.slice(0, 4);
  return ' (' + day(first, years) + ' to ' + day(last, years) + ')';
}

/**
 * What a finished import holds, in one sentence: "Imported from Apple Health: 3 days (2 March
 * to 4 March), 1,183 steps in 412 minutes, 1 night of sleep (8.0 h), from Apple Watch and iPhone."
 */
function summaryText(summary) {
  const parts = [];
  if (summary.days) parts.push(counted(summary.days, 'day') + daySpan(summary.first_day, summary.last_day));
  parts.push(summary.minutes ? number(summary.steps) + ' steps in ' + counted(summary.minutes, 'minute') : 'no steps');
  if (summary.nights) {
    const hours = (summary.sleep_minutes / 60).toFixed(1) + ' h';
    parts.push(counted(summary.nights, 'night') + ' of sleep (' + hours + (summary.nights === 1 ? '' : ' in all') + ')');
  } else {
    parts.push('no sleep');
  }
  const devices = Array.isArray(summary.devices) ? summary.devices : [];
  const from = devices.length ? ', from ' + inWords(devices) : '';
  return 'Imported from ' + (summary.format_title || summary.format) + ': ' + parts.join(', ') + from + '.';
}

/**
 * What was left out, in one sentence ("Left out: 1,234 minutes from before 5 September —
 * Stepwise keeps the last 89 days."), or '' when nothing was.
 */
function leftOutText(left) {
  if (!left) return '';
  const parts = [];
  if (left.minutes_too_old) {
    const since = left.kept_from
      ? ' from before ' + new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long' }).format(new Date(left.kept_from))
      : ' that were too old';
    parts.push(counted(left.minutes_too_old, 'minute') + since);
  }
  if (left.episodes) parts.push(counted(left.episodes, 'stretch', 'stretches') + ' of sleep too old, in the future or over a day long');
  if (left.minutes_in_future) parts.push(counted(left.minutes_in_future, 'minute') + ' dated in the future');
  if (left.minutes_implausible) parts.push(counted(left.minutes_implausible, 'minute') + ' with more steps than anyone takes in a minute');
  if (!parts.length) return '';
  const why = left.minutes_too_old || left.episodes ? ' — Stepwise keeps the last 89 days.' : '.';
  return 'Left out: ' + inWords(parts) + why;
}

/** A refusal of a file over the server's limit in words: "the file is larger than … (1.1 GB at most)." */
function tooLarge(message) {
  const limit = /(\d+) bytes/.exec(message);
  return 'the file is larger than this Stepwise server takes' + (limit ? ' (' + size(limit[1]) + ' at most).' : '.');
}

/** "Reading… 40%" / "Storing… 90%" for an import still being read. */
function progressText(item) {
  const stage = item.state === 'storing' ? 'Storing' : 'Reading';
  return stage + '… ' + item.progress + '%';
}

/** The error line of a failed import. */
function errorText(item) {
  return 'Not imported: ' + (item.error || 'the file could not be read.');
}

const finished = (item) => item.state === 'done' || item.state === 'failed';

/** An import in words, for lists: its summary and what was left out, its error, or how far it is. */
function importText(item) {
  if (item.state === 'done') {
    return [item.summary ? summaryText(item.summary) : 'Imported.', item.summary ? leftOutText(item.summary.left_out) : '']
      .filter(Boolean)
      .join(' ');
  }
  if (item.state === 'failed') return errorText(item);
  return progressText(item);
}

const STATE_NAMES = { reading: 'being read', storing: 'being stored', done: 'done', failed: 'failed' };

/** Fills #import-list with `imports` (newest first) and shows #import-empty when there are none. */
function renderList(imports) {
  const list = byId('import-list');
  list.replaceChildren();
  for (const item of imports) {
    const entry = document.createElement('li');
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = item.file_name;
    const when = document.createElement('span');
    when.className = 'when';
    when.textContent = [
      'Uploaded ' + S.formatDateTime(item.created_at),
      size(item.size_bytes),
      STATE_NAMES[item.state] || item.state,
    ].join(' · ');
    const words = document.createElement('span');
    words.className = 'state' + (item.state === 'failed' ? ' import-failed' : '');
    words.textContent = importText(item);
    entry.append(title, when, words);
    list.append(entry);
  }
  byId('import-empty').hidden = imports.length > 0;
}

/**
 * Wires the upload form and the list of one patient's imports: `base` is their imports' API
 * path ('/api/v1/me/imports' or '/api/v1/patients/{id}/imports'); `handle(error)` deals with
 * what the page itself must (signed out, no CSRF token, other failures); `onFinished(item)`,
 * when given, runs once an upload is done or failed instead of reloading the list (a page that
 * shows the data too reloads it all). Returns
 *   refresh()        loads the list again
 *   render(imports)  shows a list the page loaded itself
 * An import the list shows as still being read is looked at again every few seconds.
 */
function setUpImports({ base, handle, onFinished }) {
  const form = byId('import-form');
  const input = byId('import-file');
  const inputError = byId('import-file-error');
  const button = byId('import-submit');
  const status = byId('import-status');
  const bar = byId('import-progress');
  const result = byId('import-result');
  let uploading = false;
  let again = null;

  function show(text, percent) {
    status.textContent = text;
    if (percent === null) {
      bar.hidden = true;
    } else {
      bar.hidden = false;
      bar.value = Math.max(0, Math.min(100, percent));
      bar.setAttribute('aria-valuetext', text);
    }
  }

  function render(imports) {
    const items = Array.isArray(imports) ? imports : [];
    renderList(items);
    clearTimeout(again);
    if (!uploading && items.some((item) => !finished(item))) {
      again = setTimeout(() => refresh().catch(() => undefined), 2 * POLL_MS);
    }
  }

  async function refresh() {
    render(await S.api('GET', base));
  }

  /** Looks at the import every second until it is done or failed; returns it then. */
  async function follow(item) {
    let misses = 0;
    let current = item;
    while (!finished(current)) {
      show(progressText(current), current.progress);
      await sleep(POLL_MS);
      try {
        current = await S.api('GET', base + '/' + encodeURIComponent(current.id));
        misses = 0;
      } catch (error) {
        misses += 1;
        if (error.status !== 0 || misses > MISSES_ALLOWED) throw error;
      }
    }
    return current;
  }

  function showResult(item) {
    result.replaceChildren();
    const lines =
      item.state === 'done'
        ? [item.summary ? summaryText(item.summary) : 'Imported.', item.summary ? leftOutText(item.summary.left_out) : '']
        : [errorText(item)];
    lines.filter(Boolean).forEach((text, i) => {
      const line = document.createElement('p');
      line.textContent = text;
      line.className = item.state === 'failed' ? 'import-failed' : i === 0 ? 'import-summary' : 'hint import-left-out';
      result.append(line);
    });
    result.hidden = false;
    result.focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    inputError.textContent = '';
    const file = input.files && input.files[0];
    if (!file || file.size === 0) {
      inputError.textContent = file ? 'This file is empty: choose the export itself.' : 'Choose the export file first.';
      input.focus();
      return;
    }
    uploading = true;
    clearTimeout(again);
    button.disabled = true;
    result.hidden = true;
    S.clearMessages();
    show('Uploading… 0%', 0);
    try {
      const path = base + '?file_name=' + encodeURIComponent(file.name);
      const started = await S.sendFile('POST', path, file, (sent, total) => {
        const percent = total ? Math.floor((sent * 100) / total) : 0;
        show('Uploading… ' + percent + '% (' + size(sent) + ' of ' + size(total) + ')', percent);
      });
      show('Reading… 0%', 0);
      const item = await follow(started);
      show(item.state === 'done' ? 'The import is finished.' : 'The file could not be imported.', null);
      form.reset();
      showResult(item);
      uploading = false;
      await (onFinished ? onFinished(item) : refresh()).catch(handle);
    } catch (error) {
      show('', null);
      if (error.status === 413 || error.status === 422) {
        // Too large for this server, or refused as it came: said by the field.
        inputError.textContent = 'Not imported: ' + (error.status === 413 ? tooLarge(error.message) : error.message + '.');
        input.focus();
      } else {
        handle(error);
      }
    } finally {
      uploading = false;
      button.disabled = false;
    }
  });

  return { refresh, render };
}

export { setUpImports, summaryText, leftOutText, progressText, importText, size };
