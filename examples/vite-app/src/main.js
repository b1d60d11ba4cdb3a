import { connectBattery } from 'rtc-battery';
// The worker and the wasm are separate files the library loads at run time. `?url` makes Vite
// copy each one into the build as-is (the worker is already a self-contained bundle) and gives
// us its final, hashed URL.
import workerUrl from 'rtc-battery/battery-worker.js?url';
import wasmUrl from 'rtc-battery/sql-wasm.wasm?url';

// Schema changes are migrations: append a step, never edit a shipped one (README "Migrations").
const migrations = ['CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY NOT NULL, kind TEXT, at TEXT DEFAULT CURRENT_TIMESTAMP)'];
const db = await connectBattery({ dbName: 'vite-example', workerUrl, wasmUrl, migrations });
window.db = db;

await db.enableSync('events');
await db.exec('INSERT INTO events (id, kind) VALUES (?, ?)', [crypto.randomUUID(), 'page-load']);

const { rows } = await db.exec('SELECT sqlite_version() AS version, (SELECT count(*) FROM events) AS n');
document.getElementById('version').textContent = rows[0].version;
document.getElementById('count').textContent = String(rows[0].n);
document.body.dataset.ready = 'true';
