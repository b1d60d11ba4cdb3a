import { startBrowserSession } from '/work/wt-ff/spec/browser/harness/browser-session.ts';
const t0 = Date.now();
const s = await startBrowserSession();
console.log('launched', Date.now() - t0, 'ms', await s.browser.version());
const u = await s.newUser();
const p = await u.openTab();
console.log('tab', Date.now() - t0);
const r = await p.evaluate(async () => ({
  sw: typeof SharedWorker, locks: typeof navigator.locks, idb: typeof indexedDB, rtc: typeof RTCPeerConnection,
  secure: isSecureContext, subtle: typeof crypto.subtle, ua: navigator.userAgent,
}));
console.log(r);
await p.waitForFunction(() => (window as any).rtcBattery || (window as any).batteryLoadError, { polling: 50 });
const out = await p.evaluate(async () => {
  try {
    const db = await (window as any).rtcBattery.connectBattery({ dbName: 'probe', mode: 'shared' });
    (window as any).db = db;
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
    await db.enableSync('t');
    await db.exec("INSERT INTO t VALUES (1, 'a')");
    return (await db.exec('SELECT * FROM t')).rows;
  } catch (e: any) { return 'ERR ' + e?.code + ' ' + e?.message; }
});
console.log('result', out, Date.now() - t0);
console.log('targets', s.browser.targets().map((t) => t.type() + ' ' + t.url()));
console.log('ctx targets', u.context.targets().map((t) => t.type() + ' ' + t.url()));
console.log(s.log.dump());
await s.close();
