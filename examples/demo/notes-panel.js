// The notes form: add, edit in place, delete (with a few seconds to undo). The list is drawn only
// from the live query, so a local edit, another tab's edit and a peer's edit all reach the screen
// the same way.
import { fromSqliteUtc, setTime } from './time-words.js';

/** How long the "Note deleted · Undo" offer stays up. */
const UNDO_MS = 8_000;

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

/**
 * What changed between two renders of the list, in words a user knows ("1 note added, 2 edited");
 * null when nothing visible changed.
 */
export function describeNoteChanges(before, after) {
  let added = 0;
  let edited = 0;
  for (const [id, content] of after) {
    if (!before.has(id)) added++;
    else if (before.get(id) !== content) edited++;
  }
  let deleted = 0;
  for (const id of before.keys()) if (!after.has(id)) deleted++;
  const parts = [];
  if (added) parts.push(`${added} ${added === 1 ? 'note' : 'notes'} added`);
  if (edited) parts.push(`${edited}${parts.length ? '' : edited === 1 ? ' note' : ' notes'} edited`);
  if (deleted) parts.push(`${deleted}${parts.length ? '' : deleted === 1 ? ' note' : ' notes'} deleted`);
  return parts.length ? parts.join(', ') : null;
}

/**
 * @param {{ db: any, list: HTMLElement, form: HTMLFormElement, input: HTMLInputElement, count: HTMLElement,
 *   toast: { show(text: string, undo: () => void, ms: number): void }, onError(e: any): void,
 *   onChange?(words: string): void }} ui
 */
export function mountNotesPanel({ db, list, form, input, count, toast, onError, onChange }) {
  let editing = null; // id of the note being edited: a live update must not wipe the user's typing
  let shown = null; // id -> content of the last render

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
    const now = new Map(result.rows.map((r) => [r.id, r.content]));
    if (shown) {
      const words = describeNoteChanges(shown, now);
      if (words) onChange?.(words);
    }
    shown = now;
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
    const meta = document.createElement('time');
    meta.className = 'note-meta muted';
    const created = fromSqliteUtc(row.created_at);
    if (created) setTime(meta, created);
    const actions = document.createElement('div');
    actions.className = 'note-actions';
    actions.append(
      button('Edit', 'link', () => startEdit(item, row)),
      button(row.pinned ? 'Unpin' : 'Pin', 'link pin', () => run('UPDATE notes SET pinned = ? WHERE id = ?', [row.pinned ? 0 : 1, row.id])),
      button('Delete', 'link danger', () => remove(row)),
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

  // A delete is a real delete (peers see it at once); undo writes the row back, which the merge
  // rules let win over the delete because it is newer (docs/merge-rules.md).
  const remove = async (row) => {
    if (!(await run('DELETE FROM notes WHERE id = ?', [row.id]))) return;
    const columns = Object.keys(row);
    toast.show('Note deleted', () => run(
      `INSERT OR REPLACE INTO notes (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      columns.map((c) => row[c]),
    ), UNDO_MS);
  };

  const run = async (sql, params) => {
    try {
      await db.exec(sql, params);
      return true;
    } catch (e) {
      onError(e);
      return false;
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
