// Loaded into every Playwright driver grokbatch starts, shared or a worker's own
// (NODE_OPTIONS --require, see drivers.py).
//
// Playwright turns on DevTools' Network domain for each page it drives, with Chromium's
// default buffers: the page's renderer keeps a copy of every response body, up to 20 MB
// each and 200 MB in all, in case the client asks for one (Response.body()). grokbatch
// never does: it downloads the videos itself. On the real site each video the page plays is
// a few MB, and every one stayed in the worker's renderer until it held 200 MB. So once
// Playwright has set a page up, and before the client is told of it, this asks the page's
// DevTools session to keep no bodies. The page and the site see nothing of it.
//
// It reaches into Playwright's server (its Page's Chromium session), which a Playwright
// release may change: then it changes nothing, and tests/e2e/test_response_bodies.py fails.
'use strict';

const Module = require('module');

const KEEP_NO_BODIES = { maxTotalBufferSize: 0, maxResourceBufferSize: 0 };

function keepNoBodies(Page) {
  const reportAsNew = Page?.prototype?.reportAsNew;
  if (typeof reportAsNew !== 'function')
    return;
  Page.prototype.reportAsNew = async function (...args) {
    const session = this.delegate?._mainFrameSession?._client;  // Chromium's pages only
    if (typeof session?.send === 'function')
      await session.send('Network.enable', KEEP_NO_BODIES).catch(() => {});  // a closed page
    return reportAsNew.apply(this, args);
  };
}

// Playwright's server is one bundle, loaded by its cli.js (a worker's own driver) or by
// shared_driver.js: patch its Page when it loads, then step aside.
const load = Module._load;
Module._load = function (request, ...rest) {
  const exports = load.call(this, request, ...rest);
  if (/(^|\/)coreBundle(\.js)?$/.test(request)) {
    Module._load = load;
    keepNoBodies(exports?.server?.Page);
  }
  return exports;
};
