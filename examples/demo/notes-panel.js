// The notes form: add, edit in place, delete. The list is drawn only from the live query, so a
// local edit, another tab's edit and a peer's edit all reach the screen the same way.

/**
 * The demo's schema as migrations (README "Migrations"): every step the app has ever shipped, in
 * order, never edited once released. connectBattery applies the ones this browser's replica has
 * not seen, once, whichever tab opens first. Step 1 keeps IF NOT EXISTS because replicas made
 * before the demo used migrations already have the table.
 */
export const NOTES_MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS notes (
    id TEXT PRIMARY KEY NOT NULL,
    content TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
  )`,
  // Version 2: pin notes to the top. A peer still on version 1 keeps (and forwards) the pins it
  // receives and shows them as soon as it reloads with this step.
  'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0',
];

export const NOTES_QUERY = 'SELECT id, content, created_at, pinned FROM notes ORDER BY pinned DESC, created_at DESC, id';

/** @param {{ db: any, list: HTMLElement, form: HTMLFormElement, input: HTMLInputElement, count: HTMLElement, onError(e: any): void }} ui */
export function mountNotesPanel({ db, list, form, input, count, onError }) {
  let editing = null; // id of the note being edited: a live update must not wipe the user's typing

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    input.value = '';
    try {
      await db.exec('INSERT INTO notes (id, content) VALUES (?, ?)', [crypto.randomUUID(), content]);
    } catch (e) {
      input.value = content;
      onError(e);
    }
  });

  const render = (result) => {
    count.textContent = `${result.rows.length} ${result.rows.length === 1 ? 'note' : 'notes'}`;
    if (editing && !result.rows.some((r) => r.id === editing)) editing = null;
    const keep = editing ? list.querySelector(`li[data-id="${CSS.escape(editing)}"]`) : null;
    list.replaceChildren(...result.rows.map((row) => (row.id === editing && keep ? keep : noteItem(row))));
    if (result.rows.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'empty';
      empty.textContent = 'No notes yet. Add one, then open the share URL in another browser.';
      list.append(empty);
    }
  };

  const noteItem = (row) => {
    const item = document.createElement('li');
    item.dataset.id = row.id;
    const text = document.createElement('p');
    text.className = 'note-text';
    text.textContent = (row.pinned ? '📌 ' : '') + (row.content ?? '');
    const meta = document.createElement('span');
    meta.className = 'note-meta muted';
    meta.textContent = row.created_at ? `${row.created_at} UTC` : '';
    const actions = document.createElement('div');
    actions.className = 'note-actions';
    actions.append(
      button('Edit', 'link', () => startEdit(item, row)),
      button(row.pinned ? 'Unpin' : 'Pin', 'link pin', () => run('UPDATE notes SET pinned = ? WHERE id = ?', [row.pinned ? 0 : 1, row.id])),
      button('Delete', 'link danger', () => run('DELETE FROM notes WHERE id = ?', [row.id])),
    );
    item.append(text, meta, actions);
    return item;
  };

  const startEdit = (item, row) => {
    editing = row.id;
    const field = document.createElement('input');
    field.type = 'text';
    field.value = row.content ?? '';
    field.setAttribute('aria-label', 'Edit note');
    const save = async () => {
      editing = null;
      // An unchanged text makes no new result, so no re-render would leave edit mode.
      item.replaceWith(noteItem({ ...row, content: field.value }));
      await run('UPDATE notes SET content = ? WHERE id = ?', [field.value, row.id]);
    };
    field.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') void save();
      if (e.key === 'Escape') {
        editing = null;
        item.replaceWith(noteItem(row));
      }
    });
    const actions = document.createElement('div');
    actions.className = 'note-actions';
    actions.append(button('Save', 'link', save), button('Cancel', 'link', () => {
      editing = null;
      item.replaceWith(noteItem(row));
    }));
    item.replaceChildren(field, actions);
    field.focus();
  };

  const run = async (sql, params) => {
    try {
      await db.exec(sql, params);
    } catch (e) {
      onError(e);
    }
  };

  return db.watch(NOTES_QUERY, [], render, onError);
}

function button(label, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}
