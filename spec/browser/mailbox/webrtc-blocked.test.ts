/**
 * WebRTC blocked, both users online: edits still arrive, through the mailbox's live push.
 * Blocking: every RTCPeerConnection of the pages is forced to `iceTransportPolicy: 'relay'`
 * with no TURN server, which is a network that allows no direct path and offers no relay, so no
 * candidate is ever gathered and no DataChannel opens. (Chromium's
 * `--force-webrtc-ip-handling-policy=disable_non_proxied_udp` did not stop host candidates inside
 * the test namespace: the peers still connected.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { User } from '../harness/browser-session.js';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { startPeerServer, type TestPeerServer } from '../harness/peer-server.js';
import { events, openRoomTab, waitForResult, waitUntil } from '../p2p/room-tabs.js';

// The run's shared browser, as every other file uses (its own launch cost a Firefox start and stop).
const session = useBrowserSession();
let server: TestPeerServer;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-blocked-'));
  server = await startPeerServer({ mailbox: join(dir, 'mailbox.sqlite') });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const RELAY_ONLY = `(() => {
  const Native = globalThis.RTCPeerConnection;
  globalThis.RTCPeerConnection = class extends Native {
    constructor(config) { super({ ...(config || {}), iceServers: [], iceTransportPolicy: 'relay' }); }
  };
})();`;

/** The user's tabs open with WebRTC blocked (the harness's own tab opener plus the shim). */
function blocked(user: User): User {
  return {
    ...user,
    async openTab(path = '/tab.html') {
      const page = await user.context.newPage();
      await page.evaluateOnNewDocument('globalThis.__name = (fn) => fn;');
      await page.evaluateOnNewDocument(RELAY_ONLY);
      await page.goto(session().origin + path, { waitUntil: 'load' });
      return page;
    },
  };
}

it('both online with WebRTC blocked: edits arrive both ways through the mailbox', async () => {
  const token = 'webrtc-blocked-mailbox-token';
  const options = { signalingUrl: server.url, token };
  const alice = await openRoomTab(blocked(await session().newUser('alice')), options, 'alice');
  const bob = await openRoomTab(blocked(await session().newUser('bob')), options, 'bob');
  for (const page of [alice, bob]) await waitUntil(page, () => window.batteryEvents?.some((e) => e.name === 'mailbox' && e.args[0] === 'online'));
  await exec(alice, "INSERT INTO notes VALUES ('a1', 'from alice', 1)");
  await waitForResult(bob, 'SELECT id, body FROM notes ORDER BY id', [{ id: 'a1', body: 'from alice' }]);
  await exec(bob, "UPDATE notes SET body = 'bob edited' WHERE id = 'a1'");
  await exec(bob, "INSERT INTO notes VALUES ('b1', 'from bob', 2)");
  await waitForResult(alice, 'SELECT id, body FROM notes ORDER BY id', [
    { id: 'a1', body: 'bob edited' },
    { id: 'b1', body: 'from bob' },
  ]);
  // Nothing went peer to peer: no link was ever authenticated.
  expect((await events(alice)).some((e) => e.name === 'peer-ready')).toBe(false);
  expect((await events(bob)).some((e) => e.name === 'peer-ready')).toBe(false);
});
