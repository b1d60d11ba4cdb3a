import { describe, expect, it } from 'vitest';
import { useBrowserSession } from '../harness/vitest-session.js';
import { exec } from '../harness/battery-tab.js';
import { usePeerServer } from '../harness/peer-server.js';
import { connectRoom, openRoomTab, waitForResult } from './room-tabs.js';

// ~3.5 MiB of 64 KiB frames: more than the relay's 1 MiB high-water mark, so the sender normally
// has to wait for the leader tab's drain reports on the way (worker -> tab -> DataChannel).
const ROWS = 30_000;

describe('initial sync to an empty peer', () => {
  const session = useBrowserSession();
  const server = usePeerServer();

  it(`brings ${ROWS} rows across intact`, async () => {
    const token = 'initial-sync-room';
    const alice = await openRoomTab(await session().newUser('alice'), { signalingUrl: server().url, token }, 'alice');
    await exec(
      alice,
      `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${ROWS})
       INSERT INTO notes SELECT printf('row-%06d', i), printf('body %06d %s', i, hex(randomblob(16))), i FROM c`,
    );
    const digest = "SELECT count(*) AS c, sum(n) AS s, max(id) AS m, sum(length(body)) AS b FROM notes";
    const expected = (await exec(alice, digest)).rows;
    const bob = await openRoomTab(await session().newUser('bob'), { signalingUrl: server().url, token, connect: false }, 'bob');
    await connectRoom(bob);
    await waitForResult(bob, digest, expected);
    expect((await exec(bob, "SELECT body FROM notes WHERE id = 'row-012345'")).rows).toEqual(
      (await exec(alice, "SELECT body FROM notes WHERE id = 'row-012345'")).rows,
    );
  });
});
