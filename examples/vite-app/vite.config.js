// Vite config for the example. Inside this repository `rtc-battery` is resolved to the
// repository's own build (what its package.json `exports` map points at); in your own project,
// after `npm install rtc-battery`, delete `resolve.alias`: the package's exports do the same.
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

export default {
  resolve: {
    alias: [
      { find: /^rtc-battery$/, replacement: `${dist}rtc-battery.js` },
      { find: /^rtc-battery\/(battery-worker\.js|sql-wasm\.wasm)(\?.*)?$/, replacement: `${dist}$1$2` },
    ],
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
};
