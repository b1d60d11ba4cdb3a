// No bundler: the built library is one ES module; its worker and wasm are found next to it.
import { connectBattery } from '/dist/rtc-battery.js';

const db = await connectBattery({ dbName: 'plain-html-example' });
window.db = db; // try it from the devtools console: await db.exec('SELECT * FROM visits')

await db.exec('CREATE TABLE IF NOT EXISTS visits (id TEXT PRIMARY KEY NOT NULL, at TEXT DEFAULT CURRENT_TIMESTAMP)');
await db.enableSync('visits');
await db.exec('INSERT INTO visits (id) VALUES (?)', [crypto.randomUUID()]);

const { rows } = await db.exec('SELECT count(*) AS n, max(at) AS last FROM visits');
document.getElementById('visits').textContent = String(rows[0].n);
document.getElementById('output').textContent = JSON.stringify(rows, null, 2);

// To sync with other browsers, join a room (see the README's "Quick start"):
// await db.connect('http://127.0.0.1:9000/', 'a-long-random-room-token');
