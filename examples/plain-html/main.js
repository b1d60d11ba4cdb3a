// A visit counter with a history list: no bundler, the built library is one ES module whose
// worker and wasm are found next to it. Every tab of this origin shares one database, so a
// visit made in another tab shows up here at once (the list is a live query).
import { connectBattery } from '/dist/rtc-battery.js';

// The schema goes in `migrations`: every step ever shipped, in order (append a step to change it,
// e.g. 'ALTER TABLE visits ADD COLUMN page TEXT'). Each runs once per browser, before this resolves.
const db = await connectBattery({
  dbName: 'plain-html-example',
  migrations: ['CREATE TABLE IF NOT EXISTS visits (id TEXT PRIMARY KEY NOT NULL, at TEXT DEFAULT CURRENT_TIMESTAMP)'],
});
window.db = db; // try it from the devtools console: await db.exec('SELECT * FROM visits')

await db.enableSync('visits'); // on every start, after the migrations
await db.exec('INSERT INTO visits (id) VALUES (?)', [crypto.randomUUID()]);

const visits = document.getElementById('visits');
const noun = document.getElementById('visits-noun');
const list = document.getElementById('history');

/** SQLite's CURRENT_TIMESTAMP is UTC 'YYYY-MM-DD HH:MM:SS'; show it in the visitor's own time. */
const localTime = (at) => new Date(`${at.replace(' ', 'T')}Z`).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' });

db.watch('SELECT id, at FROM visits ORDER BY at DESC, id LIMIT 10', [], ({ rows }) => {
  list.replaceChildren(...rows.map((row, i) => {
    const item = document.createElement('li');
    item.textContent = localTime(row.at);
    if (i === 0) item.append(Object.assign(document.createElement('span'), { className: 'tag', textContent: 'latest' }));
    return item;
  }));
});
db.watch('SELECT count(*) AS n FROM visits', [], ({ rows }) => {
  visits.textContent = String(rows[0].n);
  noun.textContent = rows[0].n === 1 ? 'visit' : 'visits';
});

document.getElementById('reset').addEventListener('click', () => db.exec('DELETE FROM visits'));

// To sync with other browsers, join a room (see the README's "Quick start"). The token must be
// secret and random (at least 128 bits, e.g. 22 base64url characters), shared with the URL's #fragment:
// await db.connect('http://127.0.0.1:9000/', location.hash.slice(1));
