import type { Browser, ConsoleMessage, Page, Target, WebWorker } from 'puppeteer-core';

/**
 * Collects console output and errors of every page, dedicated worker and shared worker of a
 * browser, so a failing test can print what the browser said. Output is kept, not printed: a
 * passing test stays quiet. Firefox: pages and their dedicated workers only; over WebDriver BiDi
 * Firefox 153 reports no console output of SharedWorkers (no `log.entryAdded` for their realms)
 * and puppeteer has no shared_worker targets there.
 */
export class ConsoleLog {
  readonly lines: string[] = [];
  private readonly labels = new WeakMap<Page, string>();
  private readonly started = Date.now();
  private nextWorker = 1;

  attach(browser: Browser): void {
    browser.on('targetcreated', (target: Target) => void this.onTarget(target));
    for (const target of browser.targets()) void this.onTarget(target);
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

  private watchWorker(worker: WebWorker, name: string): void {
    worker.on('console', (m: ConsoleMessage) => this.add(name, `${m.type()}: ${m.text()}${where(m)}`));
  }
}

function where(m: ConsoleMessage): string {
  const { url, lineNumber } = m.location();
  return url ? ` (${url}${lineNumber !== undefined ? `:${lineNumber + 1}` : ''})` : '';
}
