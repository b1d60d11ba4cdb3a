import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startBrowserSession, type BrowserSession } from './browser-session.js';

/**
 * Registers the hooks of one browser per test file: started before the first test, closed after
 * the last (even when tests fail), with the browser's console printed for every failed test.
 * Use the returned function inside tests: `const session = useBrowserSession(); ... session()`.
 */
export function useBrowserSession(): () => BrowserSession {
  let session: BrowserSession | undefined;
  beforeAll(async () => {
    session = await startBrowserSession();
  });
  afterAll(async () => {
    await session?.close();
    session = undefined;
  });
  beforeEach((ctx) => {
    session?.log.clear();
    ctx.onTestFailed(() => {
      console.log(`--- browser console for "${ctx.task.name}" ---\n${session?.log.dump() ?? '(no session)'}`);
    });
  });
  return () => {
    if (!session) throw new Error('useBrowserSession(): the browser is not running (used outside a test?)');
    return session;
  };
}
