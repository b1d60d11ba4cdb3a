// The demo page: one room per URL fragment, a notes table synced between everyone who opens the
// same URL, a raw SQL editor, and a log of what the sync layer does.
import { connectBattery } from '/dist/rtc-battery.js';
import { dbNameFor, loadConfig, roomTokenFromUrl, shortPeer } from './room.js';
import { createSyncLog } from './sync-log.js';
import { renderResults } from './results-table.js';
import { mountNotesPanel, NOTES_MIGRATIONS } from './notes-panel.js';
import { createToast } from './toast.js';
import { refreshTimes } from './time-words.js';

const $ = (id) => document.getElementById(id);
const log = createSyncLog($('sync-log'));
const describeError = (e) => `${e?.code ? `[${e.code}] ` : ''}${e?.message ?? String(e)}`;

const token = roomTokenFromUrl();
// A new #token typed into the address bar is a different room, hence a different database.
addEventListener('hashchange', () => location.reload());
$('share-url').value = location.href;
$('copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('share-url').value);
    $('copy').textContent = 'Copied';
  } catch {
    $('share-url').select(); // clipboard needs a secure context; let the user copy by hand
    $('copy').textContent = 'Press Ctrl+C';
  }
  setTimeout(() => ($('copy').textContent = 'Copy'), 1500);
});

let signaling = 'offline'; // offline | connecting | connected | reconnecting | error

function showStatus(db) {
  const peers = db.getPeers().length;
  const status = $('peer-status');
  // Another tab may hold the connection (it leads), so the handle's flag is the truth here.
  const state = db.isConnected() ? 'connected' : signaling === 'connected' ? 'connecting' : signaling;
  status.dataset.state = state;
  status.dataset.peers = String(peers);
  const peersText = `${peers} ${peers === 1 ? 'peer' : 'peers'} connected`;
  // Open peer connections keep syncing while the signaling server is away: say so.
  const text = {
    offline: peers ? peersText : 'offline',
    connecting: 'connecting…',
    reconnecting: peers ? `${peersText} · reconnecting…` : 'reconnecting…',
    error: peers ? `${peersText} · signaling unreachable` : 'signaling unreachable',
    connected: peers === 0 ? 'connected · no peers yet' : peersText,
  }[state];
  $('peer-text').textContent = text;
  status.title = db.getPeers().map(shortPeer).join(', ') || 'no peers';
  const role = $('role');
  role.dataset.role = db.isLeader() ? 'leader' : 'follower';
  role.textContent = db.isLeader()
    ? 'holds the peer connections for every tab of this browser'
    : 'uses the peer connections of another tab of this browser';
}

// A peer's changes are logged in notes' terms once the list shows them; `sync` says who sent them.
// Either may come first: the list re-renders as soon as a peer's change is merged in memory, and
// `sync` fires once it is stored, so each waits up to ATTRIBUTION_MS for the other. A list change
// that no `sync` follows (this tab's or another tab's own edit) is simply not logged.
const ATTRIBUTION_MS = 2_000;
let lastPeer = null; // a `sync` no list change has shown yet: { peer, at }
let unattributed = null; // a list change no `sync` has explained yet: { words, at }

function wireEvents(db) {
  db.on('connected', () => { signaling = 'connected'; log.add('connected to the signaling server', 'ok'); showStatus(db); });
  db.on('disconnected', () => { signaling = 'offline'; log.add('disconnected from the signaling server', 'warn'); showStatus(db); });
  db.on('reconnecting', (attempt) => { signaling = 'reconnecting'; log.add(`reconnecting (attempt ${attempt})`, 'warn'); showStatus(db); });
  db.on('reconnected', () => { signaling = 'connected'; log.add('reconnected', 'ok'); showStatus(db); });
  db.on('peer-join', (p) => { log.add(`peer ${shortPeer(p)} joined`); showStatus(db); });
  db.on('peer-ready', (p) => { log.add(`connected to peer ${shortPeer(p)} (end-to-end encrypted)`, 'ok'); showStatus(db); });
  db.on('peer-leave', (p) => { log.add(`peer ${shortPeer(p)} left`, 'warn'); showStatus(db); });
  db.on('sync', (_count, p) => {
    if (unattributed && Date.now() - unattributed.at < ATTRIBUTION_MS) {
      log.add(`from peer ${shortPeer(p)}: ${unattributed.words}`, 'sync');
      unattributed = null;
      return;
    }
    lastPeer = { peer: p, at: Date.now() };
  });
  // A peer's first sync can be large: show how far it got, then hide the bar.
  db.on('sync-progress', ({ peerId, rowsDone, rowsTotal }) => {
    $('sync-progress-box').hidden = rowsDone >= rowsTotal;
    $('sync-progress').max = rowsTotal;
    $('sync-progress').value = rowsDone;
    $('sync-progress-text').textContent = `receiving ${rowsDone} of ${rowsTotal} changes from ${shortPeer(peerId)}`;
  });
  db.on('caught-up', (p) => { $('sync-progress-box').hidden = true; log.add(`in sync with peer ${shortPeer(p)}`, 'ok'); });
  db.on('leader', () => { log.add('this tab now holds the peer connections for this browser'); showStatus(db); });
  db.on('error', (e) => log.add(describeError(e), 'error'));
  // Peers and leadership can change without an event reaching this tab (another tab leads).
  setInterval(() => showStatus(db), 1000);
  setInterval(() => refreshTimes(document), 30_000);
  $('clear-log').addEventListener('click', () => log.clear());
}

/** Logs what a render of the notes list changed, naming the peer when a sync just brought it. */
function logNoteChanges(words) {
  const now = Date.now();
  if (lastPeer && now - lastPeer.at < ATTRIBUTION_MS) {
    log.add(`from peer ${shortPeer(lastPeer.peer)}: ${words}`, 'sync');
    lastPeer = null;
    return;
  }
  unattributed = { words, at: now };
}

/** A read-only single statement can be watched; anything else runs once. */
function isWatchable(sql) {
  const body = sql.replace(/;\s*$/, '');
  return /^\s*(select|with|values)\b/i.test(body) && !body.includes(';');
}

function mountSqlEditor(db) {
  const input = $('sql-input');
  const error = $('sql-error');
  const live = $('sql-live');
  let stopWatch = null;
  const show = (result, suffix) => {
    error.hidden = true;
    renderResults($('results'), result);
    const n = result.rows.length;
    $('sql-meta').textContent = result.columns.length ? `${n} ${n === 1 ? 'row' : 'rows'} · ${suffix}` : `done · ${suffix}`;
  };
  const fail = (e) => {
    error.textContent = describeError(e);
    error.dataset.code = e?.code ?? '';
    error.hidden = false;
    $('sql-meta').textContent = '';
    $('results').replaceChildren(); // a stale table under an error reads as this query's result
  };
  const run = async () => {
    stopWatch?.();
    stopWatch = null;
    const sql = input.value.trim();
    if (!sql) return;
    if (live.checked && isWatchable(sql)) {
      // Live: the panel follows the data (this tab, other tabs, peers) until the query changes.
      stopWatch = db.watch(sql, [], (result) => show(result, 'live'), fail);
      return;
    }
    $('run').disabled = true;
    const started = performance.now();
    try {
      const result = await db.exec(sql);
      show(result, `${(performance.now() - started).toFixed(1)} ms`);
    } catch (e) {
      fail(e);
    } finally {
      $('run').disabled = false;
    }
  };
  $('run').addEventListener('click', run);
  live.addEventListener('change', run);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void run();
    }
  });
  return run;
}

async function main() {
  const dbName = await dbNameFor(token);
  $('db-name').textContent = dbName;
  log.add('opening the local database…');
  const config = await loadConfig();
  // Migrations go in the connectBattery options: they are applied before the handle is returned.
  const db = await connectBattery({ dbName, iceServers: config.iceServers, migrations: NOTES_MIGRATIONS });
  window.demo = { db, token, dbName }; // for the console and the browser tests
  $('node-id').textContent = db.getNodeId();
  wireEvents(db);
  await db.enableSync('notes'); // idempotent; after the migrations, which created the table
  log.add(`database ready: node ${db.getNodeId().slice(0, 6)}, table notes synced`, 'ok');
  mountNotesPanel({
    db, list: $('notes-list'), form: $('note-form'), input: $('note-input'), count: $('notes-count'),
    toast: createToast($('toast'), $('toast-text'), $('toast-undo')),
    onError: (e) => log.add(describeError(e), 'error'),
    onChange: logNoteChanges,
  });
  const runQuery = mountSqlEditor(db);
  await runQuery();
  showStatus(db);

  const url = config.signalingUrl;
  signaling = 'connecting';
  showStatus(db);
  log.add(`joining the room via ${url}`);
  try {
    await db.connect(url, token);
  } catch (e) {
    signaling = 'error';
    log.add(`could not join the room: ${describeError(e)}`, 'error');
  }
  showStatus(db);
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  log.add(`start-up failed: ${describeError(e)}`, 'error');
  $('peer-text').textContent = 'failed to start';
  $('peer-status').dataset.state = 'error';
  document.body.dataset.ready = 'failed';
  console.error(e);
});
