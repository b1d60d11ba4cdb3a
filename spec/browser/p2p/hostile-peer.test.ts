import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { usePeerServer } from '../harness/peer-server.js';
import { deriveRoomKeys } from '../../../shared-worker/sync/room-keys.js';
import { events, notes, openRoomTab, waitForEvent, waitForResult, waitUntil } from './room-tabs.js';

const peerJsScript = readFileSync(fileURLToPath(new URL('../../../node_modules/peerjs/dist/peerjs.min.js', import.meta.url)), 'utf8');

interface Attempt {
  label: string;
  peerId: string;
  opened: boolean;
  closed: boolean;
  openedAt: number | null;
  closedAt: number | null;
  bytesIn: number;
}

declare global {
  interface Window {
    Peer?: new (id: string, options: Record<string, unknown>) => any;
    attempts?: Attempt[];
  }
}

/**
 * A raw PeerJS client that knows the room id (what the signaling server sees) but not the token:
 * each scenario registers its own `<roomId>-<random nodeId>` and dials the target once.
 */
async function attack(page: Page, port: number, roomId: string, target: string, label: string, options: Record<string, unknown>, behaviour: string): Promise<void> {
  await page.evaluate(
    async (port, roomId, target, label, options, behaviour) => {
      const hex = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, '0')).join('');
      const peerId = `${roomId}-${hex(8)}`;
      const peer = new window.Peer!(peerId, { host: '127.0.0.1', port, path: '/', secure: false, config: { iceServers: [] }, debug: 0 });
      await new Promise<void>((resolve, reject) => {
        peer.on('open', () => resolve());
        peer.on('error', (e: Error) => reject(e));
      });
      const rec: Attempt = { label, peerId, opened: false, closed: false, openedAt: null, closedAt: null, bytesIn: 0 };
      (window.attempts ??= []).push(rec);
      const conn = peer.connect(target, options);
      conn.on('data', (d: ArrayBuffer | string) => {
        rec.bytesIn += typeof d === 'string' ? d.length : d.byteLength;
      });
      conn.on('close', () => {
        rec.closed = true;
        rec.closedAt = performance.now();
      });
      conn.on('open', () => {
        rec.opened = true;
        rec.openedAt = performance.now();
        const dc: RTCDataChannel = conn.dataChannel;
        const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
        switch (behaviour) {
          case 'silent':
            break;
          case 'garbage':
            for (let i = 0; i < 10; i++) dc.send(random(1024));
            break;
          case 'oversized':
            dc.send(new Uint8Array(100 * 1024));
            break;
          case 'text':
            dc.send('{"hello":"world"}');
            break;
          case 'forged': {
            // A well-formed challenge with its own id, then a proof it cannot compute.
            const challenge = new Uint8Array(83);
            challenge[0] = 1;
            challenge[1] = 1;
            challenge.set(random(32), 2);
            challenge.set(new TextEncoder().encode(peerId), 34);
            dc.send(challenge);
            const proof = new Uint8Array(33);
            proof[0] = 2;
            proof.set(random(32), 1);
            dc.send(proof);
            break;
          }
        }
      });
    },
    port, roomId, target, label, options, behaviour,
  );
}

describe('a hostile peer that knows the room id but not the token', () => {
  const session = useBrowserSession();
  const server = usePeerServer();

  it('is closed with nothing applied; bad channels are refused; malformed and oversized frames drop only that peer', async () => {
    const token = 'hostile-test-room';
    const { roomId } = await deriveRoomKeys(token);
    const alice = await openRoomTab(await session().newUser('alice'), { signalingUrl: server().url, token }, 'alice');
    const bob = await openRoomTab(await session().newUser('bob'), { signalingUrl: server().url, token }, 'bob');
    await waitForEvent(alice, 'peer-ready');
    await exec(alice, "INSERT INTO notes VALUES ('a1', 'alice', 1)");
    await waitForResult(bob, 'SELECT id FROM notes', [{ id: 'a1' }]);
    const aliceId = `${roomId}-${await alice.evaluate(() => window.db!.getNodeId())}`;
    const before = await notes(alice);

    const evil = await (await session().newUser('mallory')).openTab('/tab.html', 'mallory');
    await evil.addScriptTag({ content: peerJsScript });
    const raw = { reliable: true, serialization: 'raw' };
    await attack(evil, server().port, roomId, aliceId, 'silent', raw, 'silent');
    await attack(evil, server().port, roomId, aliceId, 'garbage', raw, 'garbage');
    await attack(evil, server().port, roomId, aliceId, 'oversized', raw, 'oversized');
    await attack(evil, server().port, roomId, aliceId, 'text', raw, 'text');
    await attack(evil, server().port, roomId, aliceId, 'forged', raw, 'forged');
    await attack(evil, server().port, roomId, aliceId, 'json', { reliable: true, serialization: 'json' }, 'silent');
    await attack(evil, server().port, roomId, aliceId, 'unreliable', { reliable: false, serialization: 'raw' }, 'silent');

    // Every connection that opened gets closed by alice; none needs a deadline here.
    await waitUntil(evil, () => window.attempts!.filter((a) => a.opened).every((a) => a.closed) && window.attempts!.filter((a) => a.opened).length >= 5);
    // Bob keeps syncing with alice throughout.
    await exec(bob, "INSERT INTO notes VALUES ('b1', 'bob after the attack', 2)");
    await waitForResult(alice, "SELECT id FROM notes WHERE id = 'b1'", [{ id: 'b1' }]);

    const attempts = await evil.evaluate(() => window.attempts!);
    const byLabel = Object.fromEntries(attempts.map((a) => [a.label, a]));
    for (const label of ['silent', 'garbage', 'oversized', 'text', 'forged']) {
      expect(byLabel[label], label).toMatchObject({ opened: true, closed: true });
      // At most our 83-byte challenge, plus our 33-byte proof to one that sent a well-formed
      // challenge (shared-worker/sync/peer-auth.ts), reaches a peer without the token: never any data.
      expect(byLabel[label]!.bytesIn, label).toBeLessThanOrEqual(label === 'forged' ? 83 + 33 : 83);
    }
    // Channels with the wrong shape are dropped on the offer: they never open.
    expect(byLabel.json!.opened).toBe(false);
    expect(byLabel.unreliable!.opened).toBe(false);
    const silent = byLabel.silent!;
    console.log(`hostile silent peer closed after ${((silent.closedAt! - silent.openedAt!) / 1000).toFixed(2)} s (auth timeout 5 s)`);

    const after = (await notes(alice)).filter((r) => (r as { id: string }).id !== 'b1');
    expect(after).toEqual(before);
    const ready = (await events(alice)).filter((e) => e.name === 'peer-ready').map((e) => e.args[0]);
    expect(ready.every((p) => !attempts.some((a) => a.peerId === p))).toBe(true);
    const alicePeers = await alice.evaluate(() => (window.db as unknown as { getPeers(): string[] }).getPeers());
    expect(alicePeers).toHaveLength(1);
  });
});
