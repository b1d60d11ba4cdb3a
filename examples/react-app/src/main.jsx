import { createRoot } from 'react-dom/client';
import { BatteryProvider } from 'rtc-battery/react';
// The worker and the wasm are files the library loads at run time; `?url` copies them into the build.
import workerUrl from 'rtc-battery/battery-worker.js?url';
import wasmUrl from 'rtc-battery/sql-wasm.wasm?url';
import { App, MIGRATIONS } from './App.jsx';

// Everyone who opens this page with the same #room shares the list.
let room = location.hash.slice(1);
if (!room) {
  room = crypto.randomUUID();
  history.replaceState(null, '', `#${room}`);
}

createRoot(document.getElementById('root')).render(
  <BatteryProvider options={{ dbName: `react-notes-${room.slice(0, 12)}`, workerUrl, wasmUrl, migrations: MIGRATIONS }} fallback={<p>opening…</p>}>
    <App room={room} />
  </BatteryProvider>,
);
