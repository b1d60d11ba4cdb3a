import { createServer, type Server } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8', // .d.ts: served for reading, never executed
  '.css': 'text/css; charset=utf-8',
  // WebAssembly.instantiateStreaming refuses any other type (sql.js then falls back to a slower
  // ArrayBuffer compile and logs a warning).
  '.wasm': 'application/wasm',
};

export interface StaticServer {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves directories on 127.0.0.1 at an ephemeral port. `mounts` maps a URL prefix ending in '/'
 * to a directory; the longest matching prefix wins. No caching, so a rebuilt bundle is picked up.
 */
export interface StaticServerOptions {
  crossOriginIsolated?: boolean;
  /**
   * Serve every path also under `/<aliasSegment>/<anything>/...` (the prefix is dropped before
   * the mounts are matched). The harness gives each Firefox user its own prefix, see
   * shared-workers.ts.
   */
  aliasSegment?: string;
}

export async function startStaticServer(mounts: Record<string, string>, options: StaticServerOptions = {}): Promise<StaticServer> {
  // Cross-origin isolation raises performance.now() resolution from 100 µs to 5 µs in Chromium;
  // the benchmarks time sub-millisecond hops and need it.
  const isolation: Record<string, string> = options.crossOriginIsolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
    : {};
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server: Server = createServer(async (req, res) => {
    const path = unalias(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname), options.aliasSegment);
    const prefix = prefixes.find((p) => path.startsWith(p));
    if (!prefix || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    const dir = mounts[prefix]!;
    const file = normalize(join(dir, path.slice(prefix.length) || 'index.html'));
    if (file !== dir && !file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
      res.writeHead(200, {
        'content-type': MIME[extname(file)] ?? 'application/octet-stream',
        'content-length': info.size,
        'cache-control': 'no-store',
        ...isolation,
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function unalias(path: string, segment: string | undefined): string {
  if (!segment || !path.startsWith(`/${segment}/`)) return path;
  const rest = path.indexOf('/', segment.length + 2);
  return rest === -1 ? '/' : path.slice(rest);
}
