/**
 * Import rules between the runtime folders (docs/architecture.md). Each rule is one arrow that must
 * never exist; `npm test` runs `npm run check:imports`, and spec/node/build/import-rules.test.ts
 * feeds it a forbidden import to show that it fails.
 */
const worker = '^shared-worker/';
module.exports = {
  forbidden: [
    {
      name: 'protocol-imports-nothing',
      comment: 'shared-worker/protocol/ is shared by page, worker and server: it imports nothing of ours.',
      severity: 'error',
      from: { path: '^shared-worker/protocol/' },
      to: { path: '^(lib|peer-server|shared-worker/(?!protocol/))' },
    },
    {
      name: 'replica-imports-protocol-only',
      severity: 'error',
      from: { path: '^shared-worker/replica/' },
      to: { path: '^(lib|peer-server|shared-worker/(persistence|sync|hub))/' },
    },
    {
      name: 'replica-contracts-stay-pure',
      comment: 'Contracts are types and small pure helpers that persistence and sync may use: no sql.js, no replica internals.',
      severity: 'error',
      from: { path: '^shared-worker/replica/contracts/' },
      to: { path: '^(shared-worker/replica/(?!contracts/)|node_modules/sql\\.js)' },
    },
    {
      name: 'persistence-imports-protocol-and-contracts',
      severity: 'error',
      from: { path: '^shared-worker/persistence/' },
      to: { path: '^(lib|peer-server|shared-worker/(sync|hub)|shared-worker/replica/(?!contracts/))' },
    },
    {
      name: 'sync-imports-protocol-and-contracts',
      comment: 'Peer sync sees the replica only through the DurableReplica contract, never sql.js.',
      severity: 'error',
      from: { path: '^shared-worker/sync/' },
      to: { path: '^(lib|peer-server|shared-worker/(persistence|hub)|shared-worker/replica/(?!contracts/)|node_modules/sql\\.js)' },
    },
    {
      name: 'page-imports-protocol-only',
      comment: 'lib/ is the page bundle: worker code must not end up in it.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: `^(peer-server|shared-worker/(?!protocol/))` },
    },
    {
      name: 'server-imports-protocol-only',
      severity: 'error',
      from: { path: '^peer-server/' },
      to: { path: `^(lib|shared-worker/(?!protocol/))` },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: `${worker}|^lib/|^peer-server/` },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(spec|bench|examples|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
