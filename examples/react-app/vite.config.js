// Vite config for the React example. Inside this repository `rtc-battery` (and its /react and
// /kysely entries) resolve to the repository's own build; in your own project, after
// `npm install rtc-battery react react-dom kysely`, delete `resolve.alias`: the package's
// exports do the same. JSX is compiled by Vite's esbuild (the automatic runtime); add
// @vitejs/plugin-react if you want Fast Refresh.
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const inRepository = process.env.RTC_BATTERY_FROM_PACKAGE !== '1';

export default {
  esbuild: { jsx: 'automatic' },
  resolve: inRepository
    ? {
      alias: [
        { find: /^rtc-battery$/, replacement: `${dist}rtc-battery.js` },
        { find: /^rtc-battery\/(react|kysely)$/, replacement: `${dist}$1.js` },
        { find: /^rtc-battery\/(battery-worker\.js|sql-wasm\.wasm)(\?.*)?$/, replacement: `${dist}$1$2` },
      ],
    }
    : {},
  // React DOM, Kysely and rtc-battery in one chunk pass Vite's 500 kB warning; fine for an example.
  build: { chunkSizeWarningLimit: 1000 },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
};
