// One Playwright driver for several worker processes (see drivers.py).
//
//   node shared_driver.js <playwright-core dir> <socket path>
//
// Each connection on the Unix socket is one worker's Playwright client, served exactly as
// `cli.js run-driver` serves its one client over stdin/stdout: the same dispatchers, the
// same framing (a 4-byte little-endian length, then the JSON message). A client that goes
// away has its browsers closed. The driver prints one line once it listens, and exits when
// its stdin ends (the runner closed it, or the runner is gone); exiting kills every
// browser it launched, and removes its socket and the socket's directory.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');

// Nothing but the line that says it listens goes to stdout: the runner stops reading it
// then, and a full pipe would block the driver.
console.log = console.info = console.debug = console.error;

const [coreDir, socketPath] = process.argv.slice(2);
const { server } = require(`${coreDir}/lib/coreBundle`);
const { DispatcherConnection, RootDispatcher, PlaywrightDispatcher, createPlaywright,
        nullProgress } = server;
for (const [name, value] of Object.entries({ DispatcherConnection, RootDispatcher,
                                              PlaywrightDispatcher, createPlaywright })) {
  if (typeof value !== 'function') {
    console.error(`shared driver: this Playwright has no ${name}`);
    process.exit(3);
  }
}

// How long a gone client's browser may take to close before it is killed.
const CLOSE_TIMEOUT_MS = 10000;

function closeBrowser(browser) {
  const kill = setTimeout(() => browser.options.browserProcess?.kill().catch(() => {}),
                          CLOSE_TIMEOUT_MS);
  browser.close(nullProgress, { reason: 'The worker is gone' })
    .catch(() => {})
    .finally(() => clearTimeout(kill));
}

function serve(socket) {
  const connection = new DispatcherConnection();
  let playwright = null;
  let replacer;
  new RootDispatcher(connection, async (rootScope, { sdkLanguage, supportsLoneSurrogates }) => {
    if (!supportsLoneSurrogates)
      replacer = (key, value) => typeof value === 'string' ? value.toWellFormed() : value;
    playwright = createPlaywright({ sdkLanguage, isClientCollocatedWithServer: true });
    return new PlaywrightDispatcher(rootScope, playwright);
  });
  connection.onmessage = (message) => {
    const body = Buffer.from(JSON.stringify(message, replacer), 'utf8');
    const header = Buffer.alloc(4);
    header.writeUInt32LE(body.length, 0);
    socket.write(header);
    socket.write(body);
  };

  // Chunks are joined once a whole message is in: joining at every chunk is quadratic.
  const chunks = [];
  let buffered = 0;
  let needed = 4;
  let inBody = false;
  socket.on('data', (chunk) => {
    chunks.push(chunk);
    buffered += chunk.length;
    while (buffered >= needed) {
      const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
      chunks.length = 0;
      const rest = data.subarray(needed);
      if (rest.length)
        chunks.push(rest);
      buffered = rest.length;
      if (inBody) {
        let message;
        try {
          message = JSON.parse(data.subarray(0, needed).toString('utf8'));
        } catch {
          socket.destroy();
          return;
        }
        connection.dispatch(message);
        needed = 4;
      } else {
        needed = data.readUInt32LE(0);
      }
      inBody = !inBody;
    }
  });
  socket.on('close', () => {
    connection.onmessage = () => {};
    for (const browser of playwright ? playwright.allBrowsers() : [])
      closeBrowser(browser);
  });
  socket.on('error', () => {});
}

try {
  fs.unlinkSync(socketPath);
} catch {}
// The socket and its directory go with the driver, also when the runner was killed.
process.on('exit', () => {
  try {
    fs.unlinkSync(socketPath);
    fs.rmdirSync(path.dirname(socketPath));
  } catch {}
});
const listener = net.createServer(serve);
listener.on('error', (error) => {
  console.error(`shared driver: ${error.message}`);
  process.exit(3);
});
listener.listen(socketPath, () => process.stdout.write('listening\n'));
// One client's failed call must not end every other client's browser.
process.on('unhandledRejection', (error) =>
  console.error(`shared driver: ${String(error?.message ?? error).split('\n')[0]}`));
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
