// Renders /api/openapi.json as a readable list, with no external scripts (works offline).
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
  const byTag = {};
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      (byTag[tag] = byTag[tag] || []).push({ path, method, op });
    }
  }
  for (const [tag, list] of Object.entries(byTag)) {
    const h = document.createElement('h2');
    h.textContent = tag;
    ops.appendChild(h);
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
      const details = document.createElement('details');
      const s = document.createElement('summary');
      s.textContent = 'request and responses';
      const pre = document.createElement('pre');
      pre.textContent = JSON.stringify(
        { parameters: op.parameters, requestBody: op.requestBody, responses: op.responses, security: op.security },
        null, 2);
      details.append(s, pre);
      div.appendChild(details);
      ops.appendChild(div);
    }
  }
})();
