import type { Browser, ConsoleMessage, Page, Target, WebWorker } from 'puppeteer-core';
import { bidiConnection, isBidi, onRealmLog } from './bidi-realms.js';

/**
 * Collects console output and errors of every page, dedicated worker and shared worker of a
 * browser, so a failing test can print what the browser said. Output is kept, not printed: a
 * passing test stays quiet.
 */
export class ConsoleLog {
  readonly lines: string[] = [];
  private readonly labels = new WeakMap<Page, string>();
  private readonly started = Date.now();
  private nextWorker = 1;

  attach(browser: Browser): void {
    browser.on('targetcreated', (target: Target) => void this.onTarget(target));
    for (const target of browser.targets()) void this.onTarget(target);
    if (isBidi(browser)) this.attachWorkerRealms(browser);
  }

  /** Names a page in the log (e.g. "user1/tab2"); otherwise its URL path is used. */
  label(page: Page, label: string): void {
    this.labels.set(page, label);
  }

  add(source: string, text: string): void {
    const t = ((Date.now() - this.started) / 1000).toFixed(3).padStart(8);
    this.lines.push(`${t}s [${source}] ${text}`);
  }

  clear(): void {
    this.lines.length = 0;
  }

  dump(): string {
    return this.lines.length ? this.lines.join('\n') : '(no browser console output)';
  }

  private pageName(page: Page): string {
    const label = this.labels.get(page);
    if (label) return label;
    try {
      return new URL(page.url()).pathname;
    } catch {
      return page.url() || 'page';
    }
  }

  private async onTarget(target: Target): Promise<void> {
    try {
      if (target.type() === 'page') {
        const page = await target.page();
        if (page) this.watchPage(page);
      } else if (target.type() === 'shared_worker') {
        const worker = await target.worker();
        if (worker) this.watchWorker(worker, `shared_worker#${this.nextWorker++} ${new URL(target.url()).pathname}`);
      }
    } catch (e) {
      this.add('harness', `could not attach to ${target.type()} ${target.url()}: ${String(e)}`);
    }
  }

  // A page's `console` events already include its dedicated workers' output (with the worker
  // script as location), so those are not subscribed to separately.
  private watchPage(page: Page): void {
    page.on('console', (m: ConsoleMessage) => this.add(this.pageName(page), `${m.type()}: ${m.text()}${where(m)}`));
    page.on('pageerror', (e: unknown) => this.add(this.pageName(page), `pageerror: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
    page.on('error', (e: Error) => this.add(this.pageName(page), `page crashed: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) this.add(this.pageName(page), `HTTP ${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => this.add(this.pageName(page), `request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  }

  /**
   * Firefox: puppeteer's BiDi backend has no shared_worker targets, so the SharedWorkers' console
   * comes from the protocol's own events. Pages (and their dedicated workers) come through the
   * pages' `console` events as in Chromium.
   */
  private attachWorkerRealms(browser: Browser): void {
    const connection = bidiConnection(browser);
    const workers = new Map<string, string>();
    connection.on('script.realmCreated', (params: unknown) => {
      const info = params as { type?: string; realm?: string; origin?: string };
      if (info.type === 'shared-worker' && info.realm) workers.set(info.realm, `shared_worker#${this.nextWorker++} ${pathOf(info.origin ?? '')}`);
    });
    connection.on('script.realmDestroyed', (params: unknown) => {
      const realm = (params as { realm?: string }).realm;
      if (realm && workers.has(realm)) setTimeout(() => workers.delete(realm), 1000); // late entries still get a name
    });
    onRealmLog(connection, (entry) => {
      const name = workers.get(entry.realm);
      if (!name) return;
      const at = entry.url ? ` (${entry.url}${entry.line !== undefined ? `:${entry.line + 1}` : ''})` : '';
      this.add(name, `${entry.level}: ${entry.text}${at}`);
    });
  }

  private watchWorker(worker: WebWorker, name: string): void {
    worker.on('console', (m: ConsoleMessage) => this.add(name, `${m.type()}: ${m.text()}${where(m)}`));
  }
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function where(m: ConsoleMessage): string {
  const { url, lineNumber } = m.location();
  return url ? ` (${url}${lineNumber !== undefined ? `:${lineNumber + 1}` : ''})` : '';
}
