import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStaticServer, type StaticServer } from '../../browser/harness/static-server.js';

// The browser harness's file server: what the tests' pages and the sql.js loader depend on.
describe('static server for the browser harness', () => {
  let root: string;
  let server: StaticServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'static-server-'));
    await mkdir(join(root, 'dist'));
    await mkdir(join(root, 'pages'));
    await writeFile(join(root, 'dist', 'sql-wasm.wasm'), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    await writeFile(join(root, 'dist', 'lib.js'), 'export const x = 1;');
    await writeFile(join(root, 'pages', 'tab.html'), '<!doctype html>');
    await writeFile(join(root, 'secret.txt'), 'outside every mount');
    server = await startStaticServer({ '/dist/': join(root, 'dist'), '/': join(root, 'pages') }, { aliasSegment: 'u' });
  });
  afterAll(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only', () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it.each([
    ['/dist/sql-wasm.wasm', 'application/wasm'],
    ['/dist/lib.js', 'text/javascript; charset=utf-8'],
    ['/tab.html', 'text/html; charset=utf-8'],
  ])('serves %s as %s, uncached', async (path, type) => {
    const response = await fetch(server.origin + path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('serves the bytes of the file', async () => {
    const response = await fetch(`${server.origin}/dist/sql-wasm.wasm`);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  });

  it('answers 404 for a missing file and never serves outside its mounts', async () => {
    expect((await fetch(`${server.origin}/dist/nope.js`)).status).toBe(404);
    // fetch normalizes a literal "../" away; an encoded slash reaches the server as "../" after decoding.
    expect((await fetch(`${server.origin}/dist/..%2Fsecret.txt`)).status).not.toBe(200);
    expect((await fetch(`${server.origin}/..%2F..%2Fsecret.txt`)).status).not.toBe(200);
    expect((await fetch(`${server.origin}/dist/lib.js`, { method: 'POST' })).status).toBe(404);
  });

  it('serves every path also under /u/<anything>/ (per-user page prefixes), and nothing more', async () => {
    expect(await (await fetch(`${server.origin}/u/7/dist/lib.js`)).text()).toBe('export const x = 1;');
    expect((await fetch(`${server.origin}/u/alice/tab.html`)).status).toBe(200);
    expect((await fetch(`${server.origin}/u/7/..%2F..%2Fsecret.txt`)).status).not.toBe(200);
    // Only the named segment is an alias.
    expect((await fetch(`${server.origin}/v/7/tab.html`)).status).toBe(404);
  });
});
