// Renders /api/openapi.json as a readable list, with no external scripts (works offline): each
// operation with its summary, parameters, body, answers and who may call it, then every
// schema the operations refer to ($ref links jump to it).
(async function () {
  const intro = document.getElementById('intro');
  const ops = document.getElementById('ops');
  let doc;
  try {
    doc = await (await fetch('/api/openapi.json')).json();
  } catch (e) {
    intro.textContent = 'Could not load /api/openapi.json: ' + e;
    return;
  }
  intro.textContent = doc.info.description;
  const base = (doc.servers && doc.servers[0] && doc.servers[0].url) || '';
  const schemaPrefix = '#/components/schemas/';

  // JSON as text, with each "$ref" to a schema made a link to that schema below.
  function jsonWithLinks(value) {
    const pre = document.createElement('pre');
    const text = JSON.stringify(value, null, 2) || '';
    const pattern = /"#\/components\/schemas\/([^"]+)"/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      pre.appendChild(document.createTextNode(text.slice(last, match.index)));
      const a = document.createElement('a');
      a.href = '#schema-' + match[1];
      a.textContent = match[0];
      pre.appendChild(a);
      last = match.index + match[0].length;
    }
    pre.appendChild(document.createTextNode(text.slice(last)));
    return pre;
  }

  function section(title) {
    const h = document.createElement('h2');
    h.textContent = title;
    ops.appendChild(h);
  }

  const byTag = {};
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      (byTag[tag] = byTag[tag] || []).push({ path, method, op });
    }
  }
  for (const [tag, list] of Object.entries(byTag)) {
    section(tag);
    for (const { path, method, op } of list) {
      const div = document.createElement('div');
      div.className = 'op';
      const line = document.createElement('div');
      const m = document.createElement('span');
      m.className = 'method';
      m.textContent = method;
      const p = document.createElement('code');
      p.textContent = base + path;
      line.append(m, p, document.createTextNode(' — ' + op.summary));
      div.appendChild(line);
      if (op.description) {
        const d = document.createElement('p');
        d.textContent = op.description;
        div.appendChild(d);
      }
      const details = document.createElement('details');
      const s = document.createElement('summary');
      s.textContent = 'request and responses';
      // An operation without its own security takes the document's (the login).
      const security = op.security !== undefined ? op.security : doc.security;
      details.append(
        s,
        jsonWithLinks({
          parameters: op.parameters,
          requestBody: op.requestBody,
          responses: op.responses,
          security,
        }),
      );
      div.appendChild(details);
      ops.appendChild(div);
    }
  }

  const schemas = (doc.components && doc.components.schemas) || {};
  section('schemas');
  for (const name of Object.keys(schemas).sort()) {
    const div = document.createElement('div');
    div.className = 'op';
    div.id = 'schema-' + name;
    const title = document.createElement('code');
    title.textContent = name;
    div.appendChild(title);
    div.appendChild(jsonWithLinks(schemas[name]));
    ops.appendChild(div);
  }
})();
