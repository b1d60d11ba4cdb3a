// One build for the things the package ships (docs/architecture.md):
//   dist/rtc-battery.js (+ .d.ts)   the page-side library, ESM, self-contained (peerjs, idb-keyval inlined)
//   dist/battery-worker.js          the SharedWorker / dedicated worker, ESM, self-contained, + the sql.js wasm
//   dist/react.js, dist/kysely.js   the React bindings and the Kysely dialect; react, kysely and the
//                                   library itself ('rtc-battery') stay imports, so an app ships each once
//   peer-server/dist/server.js      the PeerServer for Node (the rtc-battery-server package in peer-server/);
//                                   node builtins and that package's dependencies stay external
//
// A missing entry fails the build: a renamed entry must never ship a package without its bundle.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import esbuild from 'rollup-plugin-esbuild';
import dts from 'rollup-plugin-dts';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';

const root = fileURLToPath(new URL('.', import.meta.url));
const serverPkg = JSON.parse(readFileSync(new URL('./peer-server/package.json', import.meta.url), 'utf8'));
const target = 'es2022';

// sql.js's browser build has no Node `require`s. Its emscripten loader would fetch
// `<worker script dir>/sql-wasm-browser.wasm`, but the worker always passes `locateFile` with the
// tab's wasmUrl (default: `sql-wasm.wasm` next to the library bundle), so the wasm ships once,
// under the name the package exports (`./sql-wasm.wasm`).
const sqlJsBrowser = fileURLToPath(new URL('./node_modules/sql.js/dist/sql-wasm-browser.js', import.meta.url));
const sqlWasm = new URL('./node_modules/sql.js/dist/sql-wasm-browser.wasm', import.meta.url);

/** Resolves the bare id 'sql.js' (and its Node build) to the browser build, for browser bundles only. */
function sqlJsForBrowser() {
  return {
    name: 'sql-js-for-browser',
    resolveId(id) {
      if (id === 'sql.js' || id === 'sql.js/dist/sql-wasm.js') return sqlJsBrowser;
      return null;
    },
  };
}

function emitSqlWasm() {
  return {
    name: 'emit-sql-wasm',
    generateBundle() {
      const source = readFileSync(sqlWasm);
      this.emitFile({ type: 'asset', fileName: 'sql-wasm.wasm', source });
    },
  };
}

function entry(path) {
  if (!existsSync(new URL(path, `file://${root}`))) throw new Error(`rollup.config: entry ${path} does not exist`);
  return path;
}

// Dependencies compiled to ES5 (peerjs's msgpack copy) use top-level `this`; in ESM it is undefined,
// which their helpers expect. Not ours to fix, and it hides real warnings.
function onwarn(warning, warn) {
  if (warning.code === 'THIS_IS_UNDEFINED' && /node_modules/.test(warning.id ?? '')) return;
  warn(warning);
}

// Browser bundles are minified; their source maps lie beside them.
const browserPlugins = () => [
  sqlJsForBrowser(),
  nodeResolve({ browser: true, exportConditions: ['browser', 'module', 'import', 'default'], preferBuiltins: false }),
  commonjs(),
  esbuild({ target, tsconfig: 'tsconfig.json', minify: true }),
];

/**
 * The react and kysely entries import the library through '../index.js'; in their bundles (and
 * .d.ts) that import becomes 'rtc-battery', the package itself, instead of a second copy (a
 * second Battery class would not even be the same type: its private fields make it nominal).
 */
function libraryAsPackage() {
  return {
    name: 'library-as-package',
    resolveId(id, importer) {
      if (id === '../index.js' && importer && /[\\/]lib[\\/](react|kysely)[\\/]/.test(importer)) return { id: 'rtc-battery', external: true };
      if (id === 'rtc-battery') return { id, external: true };
      return null;
    },
  };
}
const integrationExternal = [/^react($|\/)/, /^react-dom($|\/)/, /^kysely($|\/)/];

const serverExternal = [
  ...builtinModules,
  /^node:/,
  ...Object.keys(serverPkg.dependencies ?? {}),
].map((e) => (typeof e === 'string' ? new RegExp(`^${e.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(/.*)?$`) : e));

const pageEntry = entry('lib/index.ts');
const workerEntry = entry('shared-worker/hub/worker-entry.ts');
const serverEntry = entry('peer-server/index.ts');
const integrationEntries = [['react', entry('lib/react/index.ts')], ['kysely', entry('lib/kysely/index.ts')]];

const configs = [
  {
    input: pageEntry,
    output: { file: 'dist/rtc-battery.js', format: 'es', sourcemap: true, inlineDynamicImports: true },
    plugins: browserPlugins(),
  },
  {
    input: pageEntry,
    output: { file: 'dist/rtc-battery.d.ts', format: 'es' },
    plugins: [dts({ tsconfig: 'tsconfig.json' })],
  },
  {
    input: workerEntry,
    // One file: a module worker can import chunks, but one file keeps `workerUrl` a single URL to host.
    output: { file: 'dist/battery-worker.js', format: 'es', sourcemap: true, inlineDynamicImports: true },
    plugins: [...browserPlugins(), emitSqlWasm()],
  },
  ...integrationEntries.flatMap(([name, input]) => [
    {
      input,
      output: { file: `dist/${name}.js`, format: 'es', sourcemap: true },
      external: integrationExternal,
      plugins: [libraryAsPackage(), esbuild({ target, tsconfig: 'tsconfig.json', minify: true })],
    },
    {
      input,
      output: { file: `dist/${name}.d.ts`, format: 'es' },
      external: integrationExternal,
      plugins: [libraryAsPackage(), dts({ tsconfig: 'tsconfig.json' })],
    },
  ]),
  {
    input: serverEntry,
    output: { file: 'peer-server/dist/server.js', format: 'es', sourcemap: true },
    external: serverExternal,
    plugins: [
      nodeResolve({ preferBuiltins: true, exportConditions: ['node', 'import', 'default'] }),
      commonjs(),
      esbuild({ target, tsconfig: 'tsconfig.json' }),
    ],
  },
  {
    input: serverEntry,
    output: { file: 'peer-server/dist/server.d.ts', format: 'es' },
    external: serverExternal,
    plugins: [dts({ tsconfig: 'tsconfig.json' })],
  },
];

export default configs.map((c) => ({ onwarn, ...c }));
