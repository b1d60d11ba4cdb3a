import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBrowser, findChromium } from '../../browser/harness/find-browser.js';
import { browserUnderTest } from '../../browser/harness/browser-name.js';
import { parseBrowserArgs } from '../../browser/harness/each-browser.mjs';

describe('findChromium', () => {
  it('uses CHROME_PATH when it is an executable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'find-chromium-'));
    const fake = join(dir, 'chrome');
    await writeFile(fake, '#!/bin/sh\n');
    await chmod(fake, 0o755);
    try {
      expect(findChromium({ CHROME_PATH: fake })).toBe(fake);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong when CHROME_PATH points nowhere', () => {
    expect(() => findChromium({ CHROME_PATH: '/nonexistent/chrome' })).toThrow(/CHROME_PATH=\/nonexistent\/chrome is not an executable/);
  });
});

describe('findBrowser', () => {
  it('uses FIREFOX_PATH for Firefox, and names the Debian package when nothing is found', () => {
    expect(() => findBrowser('firefox', { FIREFOX_PATH: '/nonexistent/firefox' })).toThrow(/FIREFOX_PATH=\/nonexistent\/firefox is not an executable/);
    expect(findBrowser('firefox', { FIREFOX_PATH: process.execPath })).toBe(process.execPath);
  });
});

describe('browserUnderTest', () => {
  it('is Chromium unless BATTERY_BROWSER names another browser, and refuses unknown names', () => {
    expect(browserUnderTest({})).toBe('chromium');
    expect(browserUnderTest({ BATTERY_BROWSER: 'firefox' })).toBe('firefox');
    expect(() => browserUnderTest({ BATTERY_BROWSER: 'safari' })).toThrow(/BATTERY_BROWSER=safari: expected one of chromium, firefox/);
  });
});

describe('spec/browser/run.mjs arguments', () => {
  it('runs every browser by default and passes the rest to vitest', () => {
    expect(parseBrowserArgs(['spec/browser/smoke', '--reporter=verbose'])).toEqual({
      browsers: ['chromium', 'firefox'],
      vitestArgs: ['spec/browser/smoke', '--reporter=verbose'],
    });
  });

  it('takes --browser a,b and --browser=a, and refuses names it does not know', () => {
    expect(parseBrowserArgs(['--browser', 'firefox', 'x']).browsers).toEqual(['firefox']);
    expect(parseBrowserArgs(['--browser=firefox,chromium']).browsers).toEqual(['firefox', 'chromium']);
    expect(() => parseBrowserArgs(['--browser', 'edge'])).toThrow(/--browser edge: expected one or more of chromium, firefox/);
    expect(() => parseBrowserArgs(['--browser'])).toThrow(/expected one or more/);
  });
});
