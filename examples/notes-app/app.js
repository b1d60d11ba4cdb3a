// A shared todo list in ~70 lines: the Ledger facade, one synced table, one live query.
// Everyone who opens this page with the same #token edits the same list.
import { Ledger } from '/dist/rtc-battery.js';

let token = location.hash.slice(1);
if (!token) {
  // 128 random bits, base64url: the strength connect() asks for (a weaker #token is refused).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  history.replaceState(null, '', `#${token}`);
}

// Where the signaling server is (and any STUN/TURN servers): /config.json from `npm start`, or ?signal=<url>.
const config = await fetch('/config.json').then((r) => r.json()).catch(() => ({}));
const signal = new URLSearchParams(location.search).get('signal') ?? config.signalingUrl;

// The schema is a list of migrations: append a step for each change, never edit a shipped one.
const migrations = [
  `CREATE TABLE IF NOT EXISTS todos (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    done INTEGER NOT NULL DEFAULT 0,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
  )`,
];
const db = new Ledger({ dbName: `todos-${token.slice(0, 8)}`, iceServers: config.iceServers ?? [], migrations });
window.ledger = db;
await db.init(); // applies the migrations this browser has not run yet
await db.enableSync('todos');

const list = document.getElementById('todos');
db.watch('SELECT id, title, done FROM todos ORDER BY created_at, id', [], ({ rows }) => {
  list.replaceChildren(...rows.map(todoItem));
  const open = rows.filter((r) => !r.done).length;
  document.getElementById('left').textContent = rows.length ? `${open} of ${rows.length} left` : 'Nothing to do.';
});

function todoItem(todo) {
  const item = document.createElement('li');
  item.className = todo.done ? 'done' : '';
  item.dataset.id = todo.id;
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = Boolean(todo.done);
  box.id = `t-${todo.id}`;
  box.addEventListener('change', () => db.exec('UPDATE todos SET done = ? WHERE id = ?', [box.checked ? 1 : 0, todo.id]));
  const label = document.createElement('label');
  label.htmlFor = box.id;
  label.textContent = todo.title;
  const remove = document.createElement('button');
  remove.className = 'remove';
  remove.textContent = 'Delete';
  remove.addEventListener('click', () => db.exec('DELETE FROM todos WHERE id = ?', [todo.id]));
  item.append(box, label, remove);
  return item;
}

document.getElementById('add').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('title');
  const title = input.value.trim();
  if (!title) return;
  input.value = '';
  await db.exec('INSERT INTO todos (id, title) VALUES (?, ?)', [crypto.randomUUID(), title]);
});

const status = document.getElementById('status');
const showPeers = () => {
  const n = db.getPeers().length;
  status.textContent = n === 0 ? 'online, no peers yet' : `${n} ${n === 1 ? 'peer' : 'peers'} connected`;
};
for (const event of ['peer-ready', 'peer-leave', 'connected']) db.on(event, showPeers);
db.on('error', (e) => (status.textContent = `${e.code}: ${e.message}`));
if (signal) {
  await db.connect(signal, token).catch((e) => (status.textContent = `offline (${e.code}: ${e.message})`));
  showPeers();
} else {
  status.textContent = 'offline (no signaling server configured)';
}
document.body.dataset.ready = 'true';
