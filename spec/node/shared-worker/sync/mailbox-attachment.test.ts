import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createBatteryServer, type BatteryServer } from '../../../../peer-server/index.js';
import type { BatteryError } from '../../../../shared-worker/protocol/errors.js';
import { attachMailbox, type MailboxAttachment } from '../../../../shared-worker/sync/mailbox-attachment.js';
import type { MailboxSocket } from '../../../../shared-worker/sync/mailbox-client.js';
import { durableKit } from './durable-kit.js';
import type { KitReplica } from './replica-kit.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

interface Attached {
  kit: KitReplica;
  states: string[];
  errors: BatteryError[];
  attachment: MailboxAttachment;
}

async function attach(nodeId: string, signalingUrl: string, token: string, kit?: KitReplica): Promise<Attached> {
  const k = kit ?? (await durableKit.create(nodeId, { notes: ['body'] }));
  const states: string[] = [];
  const errors: BatteryError[] = [];
  const attachment = attachMailbox({
    signalingUrl,
    token,
    replica: k.replica,
    status: (s) => states.push(s),
    progress: () => {},
    error: (e) => errors.push(e),
    socketFactory: (url) => new WebSocket(url) as unknown as MailboxSocket,
    delay: () => new Promise((r) => setTimeout(r, 50)),
  });
  cleanups.push(() => attachment.stop());
  return { kit: k, states, errors, attachment };
}

describe('the mailbox beside a room (attachMailbox)', () => {
  it('does nothing when the signaling host offers no mailbox', async () => {
    const s = await createBatteryServer({ port: 0, log: () => {} });
    cleanups.push(() => s.close());
    const a = await attach('a3a3a3a3a3a3a3a3', s.url, 'no-mailbox-token');
    await a.kit.upsert('notes', [['x', { body: 'y' }]]);
    await new Promise((r) => setTimeout(r, 200));
    expect(a.states).toEqual([]);
    expect(a.errors).toEqual([]);
  });

  it('keeps syncing across a server restart: offline writes upload on reconnect, a newcomer gets everything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-attach-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'mailbox.sqlite');
    let s: BatteryServer = await createBatteryServer({ port: 0, mailbox: file, log: () => {} });
    const port = s.port;
    cleanups.push(() => s.close());
    const token = 'restart-token';
    const a = await attach('a4a4a4a4a4a4a4a4', s.url, token);
    await until(() => a.states.includes('online'));
    await a.kit.upsert('notes', [['r1', { body: 'before restart' }]]);
    await until(async () => (a.kit.replica.getPeerVector(Object.keys(peerVectors(a))[0] ?? '')?.['~seq'] ?? 0) >= 1);
    await s.close();
    await until(() => a.states.at(-1) === 'offline');
    await a.kit.upsert('notes', [['r2', { body: 'while the server was down' }]]);
    s = await createBatteryServer({ port, mailbox: file, log: () => {} });
    await until(() => a.states.filter((x) => x === 'online').length === 2);

    const b = await attach('b4b4b4b4b4b4b4b4', s.url, token);
    await until(async () => (await b.kit.dump('notes')).length === 2);
    expect(await b.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
    expect(a.errors.filter((e) => e.code !== 'SIGNALING')).toEqual([]);
    // The cursor lives with the replica (a pseudo peer's stored vector), so a restarted worker resumes.
    expect(Object.keys(peerVectors(b))).toHaveLength(1);
  });
});

/** The mailbox cursor entries the replica stores (the only peer vectors in these tests). */
function peerVectors(m: Attached): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const r = m.kit.replica as unknown as { peers?: Map<string, Record<string, number>> };
  for (const [k, v] of r.peers ?? []) if (k.startsWith('mailbox-')) out[k] = v;
  return out;
}
