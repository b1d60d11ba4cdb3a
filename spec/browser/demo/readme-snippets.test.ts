import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { useDemoSession } from './demo-session.js';

// The JavaScript blocks of README.md, taken from the file itself so they cannot drift from the
// code: each runs in two browser profiles in one room. Only the import path and the placeholder
// signaling URL are replaced.
const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
const pages = fileURLToPath(new URL('./pages/', import.meta.url));

/** The first ```js block after the heading `## <title>` or `### <title>`. */
function snippetAfter(heading: string): string {
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no heading "${heading}"`);
  const match = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match) throw new Error(`README.md has no js block after "${heading}"`);
  return match[1]!;
}

function runnable(code: string, signalingUrl: string): string {
  expect(code).toContain("from 'rtc-battery'");
  expect(code).toContain("'https://signal.example.com/'");
  return `${code
    .replace("from 'rtc-battery'", "from '/dist/rtc-battery.js'")
    .replaceAll("'https://signal.example.com/'", JSON.stringify(signalingUrl))}
window.db = db;
window.snippetDone = true;`;
}

type SnippetWindow = {
  snippetDone?: boolean;
  snippetError?: string;
  rendered: unknown[][];
  db: { exec(sql: string): Promise<{ rows: Record<string, unknown>[] }>; getPeers(): string[] };
};

async function runSnippet(page: Page, code: string): Promise<void> {
  await page.addScriptTag({ type: 'module', content: code });
  await page.waitForFunction(() => {
    const w = window as unknown as SnippetWindow;
    return w.snippetDone === true || w.snippetError !== undefined;
  }, { polling: 50, timeout: 0 });
  const error = await page.evaluate(() => (window as unknown as SnippetWindow).snippetError);
  if (error) throw new Error(`the README snippet failed in ${page.url()}: ${error}`);
}

async function waitForNoteCount(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    async (n) => (await (window as unknown as SnippetWindow).db.exec('SELECT count(*) AS n FROM notes')).rows[0]!.n === n,
    { polling: 50, timeout: 0 },
    n,
  );
}

describe('README.md code', () => {
  const session = useDemoSession({ '/usage/': pages });

  it('the quick start runs for two users, who end up with both notes and a live-rendered list', async () => {
    const { servers, log } = session();
    const url = `${servers.siteUrl}usage/blank.html#readme-quick-start-room`;
    const code = runnable(snippetAfter('## Quick start'), servers.signalingUrl);
    const alice = await (await session().newUser('alice')).open(url, 'alice');
    await runSnippet(alice, code);
    const bob = await (await session().newUser('bob')).open(url, 'bob');
    await runSnippet(bob, code);
    await waitForNoteCount(alice, 2);
    await waitForNoteCount(bob, 2);
    // The watch callback (render) was called with the merged list.
    await alice.waitForFunction(() => (window as unknown as SnippetWindow).rendered.some((rows) => rows.length === 2), { polling: 50, timeout: 0 });
    for (;;) {
      if (log.lines.some((l) => /\[alice\] log: synced \d+ changes from [0-9a-f]{32}-[0-9a-f]{16}/.test(l))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('the Ledger facade snippet runs for two users, who see each other join', async () => {
    const { servers, log } = session();
    // The snippet takes the room token from the URL fragment, as the quick start does.
    const url = `${servers.siteUrl}usage/blank.html#readme-ledger-room-token`;
    const code = runnable(snippetAfter('### The `Ledger` facade'), servers.signalingUrl);
    const alice = await (await session().newUser('alice')).open(url, 'alice');
    const bob = await (await session().newUser('bob')).open(url, 'bob');
    await runSnippet(alice, code);
    await runSnippet(bob, code);
    for (const [me, other] of [['alice', bob], ['bob', alice]] as const) {
      const otherNode = await other.evaluate(() => (window as unknown as { db: { getNodeId(): string } }).db.getNodeId());
      for (;;) {
        if (log.lines.some((l) => l.includes(`[${me}] log: Peer joined: `) && l.includes(`-${otherNode}`))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // peer-join comes first; getPeers() lists a peer once its connection is authenticated.
    await alice.waitForFunction(() => (window as unknown as SnippetWindow).db.getPeers().length === 1, { polling: 50, timeout: 0 });
  });
});
