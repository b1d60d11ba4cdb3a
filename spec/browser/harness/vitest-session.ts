import { afterAll, beforeAll, beforeEach, inject, type ProvidedContext } from 'vitest';
import { browserUnderTest, type BrowserName } from './browser-name.js';
import { startBrowserSession, type BrowserSession, type SessionOptions } from './browser-session.js';

/**
 * Registers the hooks of one browser per test file: started before the first test, closed after
 * the last (even when tests fail), with the browser's console printed for every failed test.
 * Use the returned function inside tests: `const session = useBrowserSession(); ... session()`.
 */
export function useBrowserSession(options: SessionOptions = {}): () => BrowserSession {
  let session: BrowserSession | undefined;
  beforeAll(async () => {
    const browser = options.browser ?? browserUnderTest();
    session = await startBrowserSession({ ...options, browser, endpoint: options.endpoint ?? sharedBrowserEndpoint(browser) });
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

/** The endpoint of the run's shared browser of kind `name`, if the project started one (shared-browser.ts). */
export function sharedBrowserEndpoint(name: BrowserName): string | undefined {
  // Typed as always there (ProvidedContext), but a project without the globalSetup provides nothing.
  const shared: ProvidedContext['sharedBrowser'] | undefined = inject('sharedBrowser');
  return shared?.name === name ? shared.endpoint : undefined;
}
