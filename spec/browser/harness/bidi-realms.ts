/**
 * Raw WebDriver BiDi for what puppeteer offers over CDP only: puppeteer 24's BiDi backend has no
 * `shared_worker` targets, but the protocol lists shared-worker realms (`script.getRealms`) with
 * their script URL. Firefox 153 tells nothing else about them: no user context, no evaluation in
 * them ("no such frame"), no console output.
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
