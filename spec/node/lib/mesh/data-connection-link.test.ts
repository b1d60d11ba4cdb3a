import { describe, expect, it } from 'vitest';
import { CHANNEL_HARD_LIMIT, CHANNEL_LOW_WATER, DataConnectionLink } from '../../../../lib/mesh/data-connection-link.js';
import { FakeConnection } from './fake-peerjs.js';

const REMOTE = `${'a'.repeat(32)}-${'1'.repeat(16)}`;

function openPair() {
  const local = new FakeConnection(REMOTE, true, 'raw');
  const remote = new FakeConnection('me', true, 'raw');
  local.other = remote;
  remote.other = local;
  remote.becomeOpen();
  local.becomeOpen();
  const received: number[] = [];
  remote.on('data', (d: ArrayBuffer) => received.push(d.byteLength));
  const link = new DataConnectionLink('l1', local, local.dataChannel!, true);
  return { local, remote, link, received, channel: local.dataChannel! };
}

describe('DataConnectionLink', () => {
  it('sets the channel low-water mark and reports its bufferedAmount', () => {
    const { link, channel } = openPair();
    expect(channel.bufferedAmountLowThreshold).toBe(CHANNEL_LOW_WATER);
    channel.stalled = true;
    link.send(new Uint8Array(1000));
    expect(link.bufferedAmount()).toBe(1000);
  });

  it('holds frames instead of overfilling the channel, and sends them and reports drain when it empties', () => {
    const { link, channel, received } = openPair();
    let drains = 0;
    link.onDrain(() => drains++);
    channel.stalled = true;
    const frame = new Uint8Array(64 * 1024);
    const frames = CHANNEL_HARD_LIMIT / frame.byteLength + 10;
    for (let i = 0; i < frames; i++) link.send(frame);
    expect(channel.bufferedAmount).toBe(CHANNEL_HARD_LIMIT);
    expect(link.bufferedAmount()).toBe(frames * frame.byteLength);
    channel.drain(); // fires bufferedamountlow: held frames go out
    expect(drains).toBe(1);
    expect(received).toHaveLength(frames);
    expect(link.bufferedAmount()).toBe(0);
  });

  it('closes itself when the channel refuses a send', () => {
    const { link, channel } = openPair();
    const reasons: Array<string | undefined> = [];
    link.onClose((r) => reasons.push(r));
    channel.readyState = 'closing';
    link.send(new Uint8Array(1));
    expect(link.isClosed).toBe(true);
    expect(reasons[0]).toMatch(/send failed/);
  });

  it('reports the remote closing exactly once and ignores sends afterwards', () => {
    const { link, remote, received } = openPair();
    const reasons: Array<string | undefined> = [];
    link.onClose((r) => reasons.push(r));
    remote.close();
    link.send(new Uint8Array(1));
    link.close('again');
    expect(reasons).toEqual(['connection closed']);
    expect(received).toHaveLength(0);
  });
});
