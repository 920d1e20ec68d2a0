// The results table and the lists around it. Every text goes in through textContent.

const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
};

/** 'C' → 2 (0-based column of an A1 reference). */
function column(a1) {
  const letters = /^([A-Z]+)\d+$/.exec(a1 ?? '')?.[1];
  if (!letters) return -1;
  return [...letters].reduce((n, c) => n * 26 + c.charCodeAt(0) - 64, 0) - 1;
}

const shown = (v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Per row: findings by column, fixes by column, status (excluded, duplicate) and key. */
export function rowsView(header, rows, result) {
  const { fixed, keyed } = result;
  const first = keyed.firstRow;
  const view = rows.map((cells, i) => ({ sheetRow: first + i, cells, key: keyed.keys[i], signature: keyed.signatures[i], findings: [], byColumn: new Map(), fixes: new Map(), status: 'ok', quality: null }));
  for (const r of fixed.report.rows) {
    const v = view[r.index];
    v.findings = r.findings;
    v.quality = r.quality.score;
    for (const f of r.findings) {
      const c = column(f.cell);
      const prev = v.byColumn.get(c);
      if (!prev || f.severity === 'error') v.byColumn.set(c, f.severity);
    }
  }
  for (const a of fixed.applied) {
    if (view[a.row]) view[a.row].fixes.set(column(a.cell), a); // `row` is the row's index
  }
  for (const e of keyed.excluded) {
    const v = view[e.sheetRow - first];
    if (v) v.status = e.reason === 'blank' ? 'blank' : `excluded: ${e.reason.replace('_', ' ')}`;
  }
  for (const g of keyed.duplicateGroups) {
    g.sheetRows.slice(1).forEach((r) => { if (view[r - first]) view[r - first].status = `duplicate of row ${g.sheetRows[0]}`; });
  }
  return view;
}

export function renderTable(table, header, view) {
  table.replaceChildren(el('caption', 'Rows, with findings per cell (a green arrow is the proposed fix)'));
  const head = el('tr');
  ['Sheet row', 'Key', 'Signature', 'Quality', 'Status', ...header, 'Findings'].forEach((h) => {
    const th = el('th', h);
    th.scope = 'col';
    head.append(th);
  });
  table.append(head);
  for (const v of view) {
    const tr = el('tr');
    tr.dataset.row = v.sheetRow;
    const th = el('th', v.sheetRow);
    th.scope = 'row';
    tr.append(th, el('td', v.key || '—'), el('td', v.signature ? `${v.signature.slice(0, 15)}…` : '—'), el('td', v.quality ?? '—'), el('td', v.status));
    header.forEach((_, c) => {
      const td = el('td', shown(v.cells[c]), v.byColumn.get(c));
      const fix = v.fixes.get(c);
      if (fix) td.append(el('span', `→ ${shown(fix.to)}`, 'fix'));
      tr.append(td);
    });
    const list = el('td', null, 'findings');
    for (const f of v.findings) list.append(el('div', `${f.cell ?? ''} ${f.severity}: ${f.message}${f.fix ? ` (fix: ${shown(f.fix.from)} → ${shown(f.fix.to)})` : ''}`.trim()));
    tr.append(list);
    table.append(tr);
  }
}

export function renderList(ul, items) {
  ul.replaceChildren(...items.map((t) => el('li', t)));
}

export function renderEstimate(table, e) {
  table.replaceChildren(el('caption', `Estimate for the ${e.rows} rows that will be sent`));
  const row = (cells, tag = 'td') => {
    const tr = el('tr');
    cells.forEach((c) => tr.append(el(tag, c)));
    return tr;
  };
  table.append(row(['', 'without caching', 'with caching'], 'th'));
  if (e.cost) {
    const usd = (v) => `$${v.toFixed(4)}`;
    table.append(row(['Realtime', usd(e.cost.realtime), usd(e.cost.realtimeCached)]));
    table.append(row(['Batch API', usd(e.cost.batch), usd(e.cost.batchCached)]));
  } else {
    table.append(row(['Cost', 'the model has no price in the table; give one in the spec', '']));
  }
  return e.cost ? `prices of ${e.cost.priceDate}; ` : '';
}

export function renderPrompt(box, kind, p) {
  const body = p.body;
  const prefix = kind === 'anthropic' ? body.system.map((b) => b.text).join('') : body.messages[0].content;
  const rest = kind === 'anthropic' ? body.messages : body.messages.slice(1);
  const cached = p.prefix.cacheable ? `cached after the first row (${p.prefix.tokens} tokens ≥ ${p.prefix.cacheMinTokens})`
    : `not cached: ${p.prefix.warning ?? 'too short'}`;
  box.replaceChildren(
    el('h4', `Static prefix, the same bytes for every row — ${cached}`),
    el('pre', prefix, 'cached'),
    el('h4', 'This row'),
    el('pre', rest.map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`).join('\n\n')),
    el('h4', 'Request body'),
    el('pre', JSON.stringify(body, null, 2)),
  );
}
