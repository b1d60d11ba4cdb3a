import { launchBrowser } from '/work/wt-ff/spec/browser/harness/launch-browser.ts';
for (const b of ['firefox', 'chromium'] as const) {
  const t0 = Date.now();
  const l = await launchBrowser({ browser: b });
  const t1 = Date.now();
  const ctx = await l.browser.createBrowserContext();
  const p = await ctx.newPage();
  await p.goto('about:blank');
  const t2 = Date.now();
  await ctx.close();
  const t3 = Date.now();
  await l.close();
  console.log(b, 'launch', t1 - t0, 'page', t2 - t1, 'ctxclose', t3 - t2, 'close', Date.now() - t3);
}
