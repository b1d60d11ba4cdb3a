import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../../browser/harness/find-browser.js';

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
