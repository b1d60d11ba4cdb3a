import puppeteer from 'puppeteer-core';
import { launchBrowser } from '/work/wt-ff/spec/browser/harness/launch-browser.ts';
const l = await launchBrowser({ browser: 'firefox' });
const ws = l.browser.wsEndpoint();
console.log('ws', ws);
await l.browser.disconnect();
for (let i = 0; i < 3; i++) {
  const t0 = Date.now();
  const b = await puppeteer.connect({ browserWSEndpoint: ws, protocol: 'webDriverBiDi' });
  const ctx = await b.createBrowserContext();
  const p = await ctx.newPage();
  await p.goto('about:blank');
  console.log(i, 'connected+page', Date.now() - t0);
  await ctx.close();
  await b.disconnect();
}
await l.close();
