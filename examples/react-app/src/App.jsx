import { Kysely } from 'kysely';
import { useEffect, useMemo, useState } from 'react';
import { BatteryDialect } from 'rtc-battery/kysely';
import { useBattery, usePeers, useQuery, useSyncState } from 'rtc-battery/react';

/** The schema as migrations, applied by <BatteryProvider> before the tree renders: append steps, never edit one. */
export const MIGRATIONS = ['CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)'];

export function App({ room }) {
  const battery = useBattery();
  const db = useMemo(() => new Kysely({ dialect: new BatteryDialect({ battery }) }), [battery]);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    window.battery = battery;
    window.kysely = db;
    (async () => {
      await battery.enableSync('notes');
      setReady(true);
      // Where the signaling server is: /config.json from `npm start`, or ?signal=<url>.
      const config = await fetch('/config.json').then((r) => r.json()).catch(() => ({}));
      const signal = new URLSearchParams(location.search).get('signal') ?? config.signalingUrl;
      if (signal) await battery.connect(signal, room).catch(() => {});
    })();
  }, [battery, db, room]);

  return ready ? <Notes db={db} /> : <p>enabling sync…</p>;
}

function Notes({ db }) {
  const [filter, setFilter] = useState('');
  const [text, setText] = useState('');
  const { rows, error, loading } = useQuery('SELECT id, body, done FROM notes WHERE body LIKE ? ORDER BY body', [`%${filter}%`]);
  const peers = usePeers();
  const sync = useSyncState();

  async function add(e) {
    e.preventDefault();
    if (!text.trim()) return;
    await db.insertInto('notes').values({ id: crypto.randomUUID(), body: text.trim(), done: 0 }).execute();
    setText('');
  }

  async function toggle(note) {
    await db.updateTable('notes').set({ done: note.done ? 0 : 1 }).where('id', '=', note.id).execute();
  }

  return (
    <main>
      <h1>Notes</h1>
      <p id="status">{peers.length === 1 ? '1 peer connected' : `${peers.length} peers connected`} · signaling {sync.signaling}</p>
      <form onSubmit={add}>
        <input id="body" value={text} onChange={(e) => setText(e.target.value)} placeholder="a note" />
        <button type="submit">Add</button>
      </form>
      <input id="filter" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="filter" />
      {error && <p id="error">{error.message}</p>}
      {loading ? <p>loading…</p> : (
        <ul id="notes">
          {rows.map((n) => (
            <li key={n.id} data-id={n.id} className={n.done ? 'done' : ''}>
              <label><input type="checkbox" checked={!!n.done} onChange={() => toggle(n)} /> {n.body}</label>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
