#!/usr/bin/env node
// `npm start`: build if needed, start the PeerServer and the demo site on 127.0.0.1, print the
// URL to open. Ctrl+C closes both. Every failure is one line on stderr and exit code 1 (2 for
// bad arguments).
import { buildIfStale } from './start/build-if-stale.mjs';
import { REPO_ROOT, startDemoServers } from './start/demo-servers.mjs';
import { resolve } from 'node:path';
import { parseStartOptions, USAGE } from './start/options.mjs';

function fail(message, code = 1) {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(code);
}

let options;
try {
  options = parseStartOptions(process.argv.slice(2));
} catch (err) {
  fail(`${err.message} (see --help)`, 2);
}
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (options.build && !buildIfStale(REPO_ROOT)) fail('the build failed (see above)');

let servers;
try {
  servers = await startDemoServers({
    port: options.port,
    signalingPort: options.signalingPort,
    iceServers: options.iceServers,
    mailbox: options.mailbox ? resolve(REPO_ROOT, options.dataDir, 'mailbox.sqlite') : false,
    log: options.quiet ? () => {} : (line) => console.log(`[signaling] ${line}`),
  });
} catch (err) {
  fail(err.message);
}

const url = servers.roomUrl();
console.log(`
  rtc-battery demo
  open:        ${url}
  share that URL (same #token = same room); a URL without #token gets a new room
  signaling:   ${servers.signalingUrl}
  mailbox:     ${servers.mailboxUrl ? `${servers.mailboxUrl} (data: ${resolve(REPO_ROOT, options.dataDir)})` : 'off'}
  examples:    ${servers.siteUrl}plain-html/   ${servers.siteUrl}notes-app/
  Ctrl+C to stop
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the demo servers`);
    // Exit explicitly: npm `peer` keeps sweep timers alive after close() (see peer-server/server.ts).
    servers.close().then(
      () => process.exit(0),
      (err) => fail(`close failed: ${err.message}`),
    );
  });
}
