/**
 * What puppeteer offers over CDP only, done over raw WebDriver BiDi for Firefox: puppeteer 24's
 * BiDi backend has no `shared_worker` targets (so neither a worker count nor the worker's
 * console), but the protocol lists shared-worker realms (`script.getRealms`), evaluates in them
 * (`script.evaluate`) and reports their console output (`log.entryAdded` with the realm as source).
 */
import type { Browser } from 'puppeteer-core';

/** The slice of puppeteer's BidiConnection used here (it is public on BiDi browsers, untyped). */
export interface BidiConnectionLike {
  send(method: string, params: object): Promise<{ result: unknown }>;
  on(event: string, handler: (params: unknown) => void): unknown;
}

/** Whether puppeteer drives `browser` over WebDriver BiDi (Firefox) rather than CDP (Chromium). */
export function isBidi(browser: Browser): boolean {
  // Browser.protocol exists at run time but is missing from puppeteer-core 24's typings.
  return (browser as unknown as { protocol?: string }).protocol === 'webDriverBiDi';
}

export function bidiConnection(browser: Browser): BidiConnectionLike {
  const connection = (browser as unknown as { connection?: Partial<BidiConnectionLike> }).connection;
  if (!isBidi(browser) || typeof connection?.send !== 'function' || typeof connection.on !== 'function') {
    throw new Error('bidiConnection: this browser is not driven over WebDriver BiDi');
  }
  return connection as BidiConnectionLike;
}

export interface RealmInfo {
  realm: string;
  /** For a worker, its script URL. */
  origin: string;
  type: string;
}

export async function sharedWorkerRealms(connection: BidiConnectionLike): Promise<RealmInfo[]> {
  const { result } = await connection.send('script.getRealms', { type: 'shared-worker' });
  return (result as { realms: RealmInfo[] }).realms;
}

/**
 * Evaluates `expression` (awaiting a promise) in `realm` and returns its primitive result;
 * undefined when the realm has gone away meanwhile or the expression threw.
 */
export async function evaluateInRealm(connection: BidiConnectionLike, realm: string, expression: string): Promise<unknown> {
  try {
    const { result } = await connection.send('script.evaluate', {
      expression,
      target: { realm },
      awaitPromise: true,
      resultOwnership: 'none',
    });
    const outcome = result as { type: string; result?: { value?: unknown } };
    return outcome.type === 'success' ? outcome.result?.value : undefined;
  } catch {
    return undefined; // "no such frame/realm": the worker ended between getRealms and evaluate
  }
}

/** One console entry of a BiDi `log.entryAdded` event, reduced to what the console log prints. */
export interface BidiLogEntry {
  realm: string;
  level: string;
  text: string;
  url?: string;
  line?: number;
}

export function onRealmLog(connection: BidiConnectionLike, handler: (entry: BidiLogEntry) => void): void {
  connection.on('log.entryAdded', (params: unknown) => {
    const p = params as { level?: string; text?: string | null; source?: { realm?: string }; stackTrace?: { callFrames?: Array<{ url?: string; lineNumber?: number }> } };
    if (!p?.source?.realm) return;
    const frame = p.stackTrace?.callFrames?.[0];
    handler({ realm: p.source.realm, level: p.level ?? 'log', text: p.text ?? '', url: frame?.url, line: frame?.lineNumber });
  });
}
