import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useDemoSession, waitForReady, waitForSelector } from './demo-session.js';

// The demo's status pill and sync log when the signaling server goes away and comes back on the
// same port (what a server restart looks like to the page).
const serverBundle = fileURLToPath(new URL('../../../peer-server/dist/server.js', import.meta.url));

type ServerModule = { createBatteryServer(o: Record<string, unknown>): Promise<{ close(): Promise<void> }> };

describe('the demo when the signaling server restarts', () => {
  const session = useDemoSession();

  it('shows reconnecting, then connected again, and logs both', async () => {
    const { servers } = session();
    const page = await (await session().newUser('gina')).open(servers.roomUrl());
    await waitForReady(page);
    await waitForSelector(page, '#peer-status[data-state="connected"]');

    const port = servers.signaling.port;
    await servers.signaling.close();
    await waitForSelector(page, '#peer-status[data-state="reconnecting"]');
    expect(await page.$eval('#peer-text', (e) => e.textContent)).toBe('reconnecting…');

    const { createBatteryServer } = (await import(serverBundle)) as ServerModule;
    const restarted = await createBatteryServer({ host: '127.0.0.1', port, log: () => {} });
    try {
      await waitForSelector(page, '#peer-status[data-state="connected"]');
      const log = await page.$eval('#sync-log', (e) => e.textContent ?? '');
      expect(log).toMatch(/reconnecting \(attempt 1\)/);
      expect(log).toContain('reconnected');
    } finally {
      await restarted.close();
    }
  });
});
