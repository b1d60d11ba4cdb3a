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
  /** Backoff waits the attachment has begun (each before it asks or connects again). */
  waits(): number;
}

async function attach(nodeId: string, signalingUrl: string, token: string, kit?: KitReplica, fetchFn?: typeof globalThis.fetch): Promise<Attached> {
  const k = kit ?? (await durableKit.create(nodeId, { notes: ['body'] }));
  const states: string[] = [];
  const errors: BatteryError[] = [];
  let waits = 0;
  const attachment = attachMailbox({
    signalingUrl,
    token,
    replica: k.replica,
    status: (s) => states.push(s),
    progress: () => {},
    error: (e) => errors.push(e),
    socketFactory: (url) => new WebSocket(url) as unknown as MailboxSocket,
    delay: () => {
      waits++;
      return new Promise((r) => setTimeout(r, 50));
    },
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });
  cleanups.push(() => attachment.stop());
  return { kit: k, states, errors, attachment, waits: () => waits };
}

describe('the mailbox beside a room (attachMailbox)', () => {
  it('does nothing when the signaling host offers no mailbox', async () => {
    const s = await createBatteryServer({ port: 0, log: () => {} });
    cleanups.push(() => s.close());
    const answers: number[] = [];
    const a = await attach('a3a3a3a3a3a3a3a3', s.url, 'no-mailbox-token', undefined, async (input, init) => {
      const answer = await globalThis.fetch(input, init);
      answers.push(answer.status);
      return answer;
    });
    await a.kit.upsert('notes', [['x', { body: 'y' }]]);
    await until(() => answers.length === 1);
    await new Promise((r) => setImmediate(r));
    // Asked once, answered 404, and no wait begun to ask again or to connect.
    expect([answers, a.waits()]).toEqual([[404], 0]);
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

  it('attaches once the host answers when it could not be reached at connect (an app opened offline)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-attach-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // A port nothing listens on yet: take one from a server and close it.
    const probe = await createBatteryServer({ port: 0, log: () => {} });
    const { port, url } = probe;
    await probe.close();
    let asked = 0;
    const counting: typeof globalThis.fetch = (input, init) => {
      asked++;
      return globalThis.fetch(input, init);
    };
    const a = await attach('a6a6a6a6a6a6a6a6', url, 'offline-start-token', undefined, counting);
    await a.kit.upsert('notes', [['r1', { body: 'written offline' }]]);
    await until(() => asked >= 2);
    expect(a.states).toEqual([]);

    const s = await createBatteryServer({ port, mailbox: join(dir, 'mailbox.sqlite'), log: () => {} });
    cleanups.push(() => s.close());
    await until(() => a.states.includes('online'));
    const b = await attach('b6b6b6b6b6b6b6b6', s.url, 'offline-start-token');
    await until(async () => (await b.kit.dump('notes')).length === 1);
    expect(await b.kit.dump('notes')).toEqual(await a.kit.dump('notes'));
  });

  it('asks again after 503, 429 and 408; a 404 or 403 means no mailbox and ends the asking', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'battery-mailbox-attach-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const s = await createBatteryServer({ port: 0, mailbox: join(dir, 'mailbox.sqlite'), log: () => {} });
    cleanups.push(() => s.close());
    const scripted = (statuses: number[]) => {
      const calls: number[] = [];
      const fetchFn: typeof globalThis.fetch = async (input, init) => {
        const status = statuses[calls.length];
        calls.push(status ?? 0);
        return status === undefined ? globalThis.fetch(input, init) : new Response('{}', { status });
      };
      return { calls, fetchFn };
    };
    const busy = scripted([503, 429, 408]);
    const a = await attach('a7a7a7a7a7a7a7a7', s.url, 'busy-host-token', undefined, busy.fetchFn);
    await until(() => a.states.includes('online'));
    expect(busy.calls).toEqual([503, 429, 408, 0]);

    for (const status of [404, 403]) {
      const none = scripted([status, 200]);
      const n = await attach('a8a8a8a8a8a8a8a8', s.url, `no-mailbox-${status}`, undefined, none.fetchFn);
      await until(() => none.calls.length === 1);
      // Asking again would begin a wait as soon as the answer is read (microtasks, long done by
      // the time `until` sees the call): none begins, so nothing is asked again.
      expect(n.waits()).toBe(0);
      expect(none.calls).toEqual([status]);
      expect(n.states).toEqual([]);
      expect(n.errors).toEqual([]);
    }
  });

  it('stop() ends the asking while the host is unreachable', async () => {
    const probe = await createBatteryServer({ port: 0, log: () => {} });
    const url = probe.url;
    await probe.close();
    let asked = 0;
    const a = await attach('a9a9a9a9a9a9a9a9', url, 'stop-while-asking', undefined, (input, init) => {
      asked++;
      return globalThis.fetch(input, init);
    });
    await until(() => asked >= 2);
    // stop() resolves once the asking loop has ended (it awaits it); no wait begins after it.
    await a.attachment.stop();
    const [askedAtStop, waitsAtStop] = [asked, a.waits()];
    await new Promise((r) => setImmediate(r));
    expect([asked, a.waits()]).toEqual([askedAtStop, waitsAtStop]);
  });
});

/** The mailbox cursor entries the replica stores (the only peer vectors in these tests). */
function peerVectors(m: Attached): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const r = m.kit.replica as unknown as { peers?: Map<string, Record<string, number>> };
  for (const [k, v] of r.peers ?? []) if (k.startsWith('mailbox-')) out[k] = v;
  return out;
}
