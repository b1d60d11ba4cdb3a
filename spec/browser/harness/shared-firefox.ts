/**
 * vitest globalSetup of the `firefox` project: one Firefox for the whole run, which every test
 * file connects to (useBrowserSession, useDemoSession) instead of launching its own. Firefox
 * takes 6-11 s to start with a fresh profile on this machine and 5 s to shut down (Chromium:
 * 1-2 s and 0.3 s), which per file would cost minutes. Each file still gets fresh users (browser
 * contexts with their own storage and workers), as with Chromium.
 */
import type { TestProject } from 'vitest/node';
import { launchBrowser } from './launch-browser.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** WebDriver BiDi endpoint of the run's shared Firefox (set by shared-firefox.ts). */
    firefoxEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const launched = await launchBrowser({ browser: 'firefox' });
  project.provide('firefoxEndpoint', await launched.detach());
  return () => launched.close();
}
