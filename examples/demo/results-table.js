// Renders an exec() result ({columns, rows}) as a table; NULL and blobs are shown for what they are.

function cellText(value) {
  if (value === null || value === undefined) return { text: 'NULL', className: 'null' };
  if (value instanceof Uint8Array) return { text: `<blob ${value.byteLength} bytes>`, className: 'blob' };
  if (typeof value === 'number') return { text: String(value), className: 'num' };
  return { text: String(value), className: '' };
}

export function renderResults(table, result) {
  const head = document.createElement('thead');
  const headRow = document.createElement('tr');
  for (const column of result.columns) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = column;
    headRow.append(th);
  }
  head.append(headRow);
  const body = document.createElement('tbody');
  for (const row of result.rows) {
    const tr = document.createElement('tr');
    for (const column of result.columns) {
      const { text, className } = cellText(row[column]);
      const td = document.createElement('td');
      td.textContent = text;
      if (className) td.className = className;
      tr.append(td);
    }
    body.append(tr);
  }
  table.replaceChildren(...(result.columns.length ? [head, body] : []));
}
