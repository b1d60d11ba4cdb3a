import { describe, expect, it, vi } from 'vitest';
import { Decoder } from '@msgpack/msgpack';
import { FRAME_HEADER_BYTES, FrameReader, FrameWriter } from '../../../../shared-worker/sync/framing.js';
import { MAX_FRAME_BYTES } from '../../../../shared-worker/protocol/limits.js';
import { encodePeerMessage, validatePeerMessage, type PeerMessage } from '../../../../shared-worker/sync/peer-protocol.js';
import { deriveRoomKeys } from '../../../../shared-worker/sync/room-keys.js';
import { openSealedChannel, type SealedChannel } from '../../../../shared-worker/sync/sealed-channel.js';
import { createLinkPair } from './memory-link.js';
import { until } from './helpers.js';

const auth = {
  initiatorNonce: new Uint8Array(32).fill(7),
  responderNonce: new Uint8Array(32).fill(9),
  initiatorPeerId: 'a',
  responderPeerId: 'b',
};

async function channels(): Promise<[SealedChannel, SealedChannel]> {
  const { encKey } = await deriveRoomKeys('framing');
  return [await openSealedChannel(encKey, auth, true), await openSealedChannel(encKey, auth, false)];
}

function frame(id: number, index: number, count: number, bodyBytes = 10): Uint8Array {
  const f = new Uint8Array(FRAME_HEADER_BYTES + bodyBytes);
  const v = new DataView(f.buffer);
  v.setUint32(0, id);
  v.setUint32(4, index);
  v.setUint32(8, count);
  return f;
}

function pseudoRandom(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('framing', () => {
  it('round-trips a multi-MB message through 64 KiB frames, with backpressure honoured', async () => {
    const [send, recv] = await channels();
    const pair = createLinkPair('a', 'b', { bytesPerTick: 64 * 1024, lowWaterBytes: 64 * 1024 });
    const highWaterBytes = 256 * 1024;
    const writer = new FrameWriter(pair.a, send, { highWaterBytes });
    const reader = new FrameReader(recv);
    const received: unknown[] = [];
    let chain = Promise.resolve();
    pair.b.onFrame((f) => {
      chain = chain.then(async () => {
        const r = await reader.push(f);
        if (r) received.push(r.message);
      });
    });
    const blob = pseudoRandom(5 * 1024 * 1024 + 123);
    const message = { t: 'big', blob, text: 'ü'.repeat(1000), n: 2 ** 40, list: [null, 1.5, -3] };
    await Promise.all([writer.send(message), writer.send({ t: 'small' })]);
    await until(() => received.length === 2);
    const got = received[0] as typeof message;
    expect(got.blob).toBeInstanceOf(Uint8Array);
    // Buffer.equals: a deep toEqual over 5 M typed-array elements takes half a minute.
    expect(Buffer.from(got.blob).equals(Buffer.from(blob))).toBe(true);
    expect({ ...got, blob: null }).toEqual({ ...message, blob: null });
    expect(received[1]).toEqual({ t: 'small' });
    expect(Math.max(...pair.a.sent.map((f) => f.length))).toBe(MAX_FRAME_BYTES);
    expect(pair.a.sent.length).toBeGreaterThan(80);
    // Never queued more than the high-water mark plus the one frame that crossed it.
    expect(pair.a.maxBuffered).toBeLessThanOrEqual(highWaterBytes + MAX_FRAME_BYTES);
    expect(writer.bytesSent).toBe(pair.a.sent.reduce((n, f) => n + f.length, 0));
  });

  it('rejects a message above maxMessageBytes (BAD_OP)', async () => {
    const [send, recv] = await channels();
    const pair = createLinkPair('a', 'b');
    const writer = new FrameWriter(pair.a, send);
    const reader = new FrameReader(recv, { maxMessageBytes: 200_000 });
    await writer.send({ blob: new Uint8Array(300_000) });
    let error: unknown = null;
    for (const f of pair.a.sent) {
      try {
        await reader.push(f);
      } catch (e) {
        error = e;
        break;
      }
    }
    expect(error).toMatchObject({ code: 'BAD_OP', detail: { limit: 'maxFrames' } });
  });

  it('rejects an announced count within limits whose bytes exceed maxMessageBytes', async () => {
    const [, recv] = await channels();
    const reader = new FrameReader(recv, { maxMessageBytes: 100_000 });
    await reader.push(frame(1, 0, 2, 60_000));
    await expect(reader.push(frame(1, 1, 2, 60_000))).rejects.toMatchObject({ code: 'BAD_OP', detail: { limit: 'maxMessageBytes' } });
  });

  it('caps concurrent partial messages', async () => {
    const [, recv] = await channels();
    const reader = new FrameReader(recv, { maxPartialMessages: 2 });
    expect(await reader.push(frame(1, 0, 3))).toBeNull();
    expect(await reader.push(frame(2, 0, 3))).toBeNull();
    await expect(reader.push(frame(3, 0, 3))).rejects.toMatchObject({ code: 'BAD_OP', detail: { limit: 'maxPartialMessages' } });
  });

  it.each([
    ['an oversized frame', frame(1, 0, 2, MAX_FRAME_BYTES)],
    ['a header-only frame', frame(1, 0, 1, 0)],
    ['a frame shorter than its header', new Uint8Array(5)],
    ['a zero frame count', frame(1, 0, 0)],
    ['an absurd frame count', frame(1, 0, 0xffffffff)],
    ['a first frame with index > 0', frame(1, 1, 3)],
  ])('rejects %s (BAD_OP)', async (_name, f) => {
    const [, recv] = await channels();
    await expect(new FrameReader(recv).push(f)).rejects.toMatchObject({ code: 'BAD_OP' });
  });

  it('rejects frames out of order or with a changed count', async () => {
    const [, recv] = await channels();
    const r1 = new FrameReader(recv);
    await r1.push(frame(1, 0, 3));
    await expect(r1.push(frame(1, 2, 3))).rejects.toMatchObject({ code: 'BAD_OP' });
    const r2 = new FrameReader(recv);
    await r2.push(frame(1, 0, 3));
    await expect(r2.push(frame(1, 1, 4))).rejects.toMatchObject({ code: 'BAD_OP' });
  });

  it('refuses nested array headers before decoding them (the decoder preallocates each one)', async () => {
    const [send, recv] = await channels();
    // 200 nested headers announcing 65535 elements each, in 600 bytes: decoded, that is 13 M
    // preallocated array slots (3000 of them were 1.5 GB of heap).
    const crafted = new Uint8Array(600).map((_, i) => [0xdc, 0xff, 0xff][i % 3]!);
    const sealed = await send.seal(crafted);
    const f = frame(1, 0, 1, sealed.length);
    f.set(sealed, FRAME_HEADER_BYTES);
    const decodes = vi.spyOn(Decoder.prototype, 'decode');
    try {
      await expect(new FrameReader(recv).push(f)).rejects.toMatchObject({ code: 'BAD_OP', message: expect.stringContaining('elements') });
      expect(decodes).not.toHaveBeenCalled();
    } finally {
      decodes.mockRestore();
    }
  });

  it('carries -0 in keys and cells as -0 (plain msgpack turns it into 0)', async () => {
    const [send, recv] = await channels();
    const pair = createLinkPair('a', 'b');
    const writer = new FrameWriter(pair.a, send);
    const reader = new FrameReader(recv);
    const N = 'a1a1a1a1a1a1a1a1';
    const msg: PeerMessage = {
      t: 'live', madeAt: {}, signed: [],
      changes: { nodes: [N], tables: [{ table: 't', columns: ['v', 'w'], rows: [{ pk: [-0], put: [5, 0], del: null, cells: [[0, -0, 5, 0], [1, -0, 4, 0]] }] }] },
    };
    await writer.send(encodePeerMessage(msg));
    const got = validatePeerMessage((await reader.push(pair.a.sent[0]!))!.message);
    const row = (got as Extract<PeerMessage, { t: 'live' }>).changes.tables[0]!.rows[0]!;
    expect(Object.is(row.pk[0], -0)).toBe(true);
    expect(row.cells.map((c) => Object.is(c[1], -0))).toEqual([true, true]);
    expect(got).toEqual(msg);
  });

  it('a complete message that fails to open is AUTH, not silently dropped', async () => {
    const [, recv] = await channels();
    await expect(new FrameReader(recv).push(frame(1, 0, 1, 40))).rejects.toMatchObject({ code: 'AUTH' });
  });

  it('stops sending when the link closes while paused', async () => {
    const [send] = await channels();
    const pair = createLinkPair('a', 'b', { bytesPerTick: 1 });
    const writer = new FrameWriter(pair.a, send, { highWaterBytes: 70_000 });
    const sending = writer.send({ blob: new Uint8Array(1_000_000) });
    await until(() => pair.a.sent.length >= 2);
    pair.close();
    await expect(sending).rejects.toMatchObject({ code: 'CLOSED' });
    expect(pair.a.sent.length).toBeLessThan(16);
  });
});
