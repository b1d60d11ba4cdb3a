import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../../../peer-server/cli-main.js';
import { parseStartOptions } from '../../../../examples/start/options.mjs';

describe('mailbox flags', () => {
  it('rtc-battery-server --mailbox takes a SQLite file or a Postgres URL, with limits', () => {
    expect(parseCliArgs(['--mailbox', 'data/m.sqlite', '--mailbox-quota-bytes', '1000', '--mailbox-idle-days', '2'])).toEqual({
      help: false,
      options: { mailbox: { path: 'data/m.sqlite', quotaBytes: 1000, idleExpiryMs: 2 * 86_400_000 } },
    });
    expect(parseCliArgs(['--mailbox', 'postgres://u@db/rooms', '--mailbox-max-blob-bytes', '5'])).toEqual({
      help: false,
      options: { mailbox: { postgres: 'postgres://u@db/rooms', maxBlobBytes: 5 } },
    });
    expect(parseCliArgs([])).toEqual({ help: false, options: {} });
    expect(() => parseCliArgs(['--mailbox-quota-bytes', '5'])).toThrow(/need --mailbox/);
    expect(() => parseCliArgs(['--mailbox', 'x', '--mailbox-quota-bytes', 'lots'])).toThrow(/non-negative integer/);
  });

  it('npm start turns the mailbox on in a data folder unless --no-mailbox', () => {
    expect(parseStartOptions([], {})).toMatchObject({ mailbox: true, dataDir: '.data' });
    expect(parseStartOptions(['--data', '/srv/battery'], {})).toMatchObject({ mailbox: true, dataDir: '/srv/battery' });
    expect(parseStartOptions([], { DATA_DIR: '/var/x' })).toMatchObject({ dataDir: '/var/x' });
    expect(parseStartOptions(['--no-mailbox'], {})).toMatchObject({ mailbox: false });
  });
});
