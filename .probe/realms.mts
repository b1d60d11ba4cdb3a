import { startBrowserSession } from '/work/wt-ff/spec/browser/harness/browser-session.ts';
import { connectTab } from '/work/wt-ff/spec/browser/harness/battery-tab.ts';
const s = await startBrowserSession();
const u = await s.newUser();
const p = await u.openTab();
await connectTab(p, { dbName: 'probe', mode: 'shared' });
await p.evaluate(() => { console.log('hello from page'); });
const conn = (s.browser as any).connection;
console.log('conn?', typeof conn?.send);
const r = await conn.send('script.getRealms', {});
console.log(JSON.stringify(r.result, null, 1));
const p2 = await u.openTab();
await connectTab(p2, { dbName: 'probe', mode: 'dedicated' }).catch((e) => console.log('ded', e.message));
console.log('workers', p.workers().length, p2.workers().length);
console.log(s.log.dump());
await p.close(); await p2.close();
for (let i = 0; i < 20; i++) {
  const r2 = await conn.send('script.getRealms', {});
  console.log(i, r2.result.realms.map((x: any) => x.type + ' ' + x.origin).join(', '));
  await new Promise((r) => setTimeout(r, 500));
}
await s.close();
