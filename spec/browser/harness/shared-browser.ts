/**
 * vitest globalSetup of the browser projects: one browser for the whole run, which every test
 * file connects to (useBrowserSession, useDemoSession) instead of launching its own. Firefox
 * takes 6-11 s to start with a fresh profile on this machine and 5 s to shut down, Chromium
 * about 1 s both ways; per file that cost minutes. Each file still gets fresh users (browser
 * contexts with their own storage and workers) and closes them when it ends.
 */
import type { TestProject } from 'vitest/node';
import { isBrowserName, type BrowserName } from './browser-name.js';
import { launchBrowser } from './launch-browser.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's shared browser (set by shared-browser.ts): its kind and its CDP / WebDriver BiDi endpoint. */
    sharedBrowser: { name: BrowserName; endpoint: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The project's name is the browser it drives (vitest.config.ts).
  const name = project.name;
  if (!isBrowserName(name)) throw new Error(`shared-browser.ts: project ${JSON.stringify(name)} is not a browser`);
  const launched = await launchBrowser({ browser: name });
  project.provide('sharedBrowser', { name, endpoint: await launched.detach() });
  return () => launched.close();
}
