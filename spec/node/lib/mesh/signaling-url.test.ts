import { describe, expect, it } from 'vitest';
import { parseSignalingUrl } from '../../../../shared-worker/protocol/signaling-url.js';
import { isBatteryError } from '../../../../shared-worker/protocol/errors.js';

describe('parseSignalingUrl', () => {
  it('splits an http URL into PeerJS options and the rooms base', () => {
    expect(parseSignalingUrl('http://127.0.0.1:9000/')).toEqual({
      peer: { host: '127.0.0.1', port: 9000, path: '/', secure: false },
      httpBase: 'http://127.0.0.1:9000/',
    });
  });

  it('maps ws(s) to the same server over http(s) and keeps the path with a trailing slash', () => {
    expect(parseSignalingUrl('wss://signal.example/battery')).toEqual({
      peer: { host: 'signal.example', port: 443, path: '/battery/', secure: true },
      httpBase: 'https://signal.example:443/battery/',
    });
    expect(parseSignalingUrl('ws://10.0.0.2:81/a/b/').peer).toEqual({ host: '10.0.0.2', port: 81, path: '/a/b/', secure: false });
  });

  it('fills default ports per scheme', () => {
    expect(parseSignalingUrl('http://h').peer.port).toBe(80);
    expect(parseSignalingUrl('https://h').peer.port).toBe(443);
  });

  it('keeps IPv6 hosts bracketed', () => {
    expect(parseSignalingUrl('http://[::1]:9000/p').httpBase).toBe('http://[::1]:9000/p/');
  });

  it.each([
    ['', 'empty'],
    ['not a url', 'relative'],
    ['/peer', 'path only'],
    ['ftp://h/', 'wrong scheme'],
    ['http://user:pw@h/', 'credentials'],
    ['http://h/?x=1', 'query'],
    ['http://h/#frag', 'fragment'],
  ])('refuses %j (%s) with SIGNALING', (url) => {
    let caught: unknown;
    try {
      parseSignalingUrl(url);
    } catch (e) {
      caught = e;
    }
    expect(isBatteryError(caught)).toBe(true);
    expect((caught as { code: string }).code).toBe('SIGNALING');
  });

  it('refuses a non-string with SIGNALING', () => {
    expect(() => parseSignalingUrl(42 as unknown as string)).toThrow(/signalingUrl/);
  });
});
