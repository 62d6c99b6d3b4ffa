// grokbatch's eyes inside the Grok Imagine page. Installed as an init script, so it runs
// in every page load before the site's own scripts. It does two things:
//
// 1. Reads the generation stream. `fetch` is wrapped; a copy of each response whose URL
//    matches `config.streamPattern` is parsed line by line (NDJSON) and what it says is
//    kept in `window.__grokbatch`: every video of the generation (by videoId, with its
//    sideBySideIndex, progress, moderated flag and videoUrl), whether the stream ended or
//    broke, an error object, or the HTTP status that refused it.
// 2. Offers the checks grokbatch runs from Python, as `window.__grokbatchPage.*`: one
//    call answers "what decisive thing happened?" so that waiting is one in-page poll.
//
// Failure signs come from the stream first. The page's text is consulted only when the
// stream cannot say (it ended without a video, or no stream was seen at all), and then
// only inside error toasts and dialogs, never in informational toasts or the editor.
(config) => {
  if (window.__grokbatch) return;
  const state = (window.__grokbatch = {
    generation: 0, failure: null, detail: null, streamError: false, broken: false,
    ended: false, endedAt: null, videos: {}, lastProgress: null,
  });
  const pattern = new RegExp(config.streamPattern);

  // ------------------------------------------------------------------- the stream
  const report = (p) => {
    if (p === state.lastProgress) return;
    state.lastProgress = p;
    try { if (window.__grokbatchProgress) window.__grokbatchProgress(p); } catch (e) {}
  };
  const findGeneration = (obj, depth) => {
    if (!obj || typeof obj !== 'object' || depth > 6) return null;
    if (obj.streamingVideoGenerationResponse) return obj.streamingVideoGenerationResponse;
    for (const value of Object.values(obj)) {
      const found = findGeneration(value, depth + 1);
      if (found) return found;
    }
    return null;
  };
  const handleLine = (line) => {
    // One JSON object a line; framed as server-sent events, after `data:` (other event
    // lines, comments and keep-alives are not JSON and say nothing).
    const text = line.trim().replace(/^data:\s*/, '');
    if (!text) return;
    let obj;
    try { obj = JSON.parse(text); } catch (e) { return; }
    if (obj && obj.error) { state.streamError = true; return; }
    const gen = findGeneration(obj, 0);
    if (!gen) return;
    const id = String(gen.videoId || gen.videoPostId || gen.sideBySideIndex || 'video');
    const video = (state.videos[id] = state.videos[id] || {
      index: Number(gen.sideBySideIndex || 0), progress: 0, moderated: false, url: null,
      post: null });
    if (typeof gen.progress === 'number') video.progress = gen.progress;
    if (gen.videoPostId) video.post = String(gen.videoPostId);
    if (gen.moderated) video.moderated = true;
    if (gen.videoUrl) video.url = String(gen.videoUrl);
    const all = Object.values(state.videos);
    report(Math.min(...all.map((v) => v.progress)));
  };
  const end = (broken) => {
    state.broken = state.broken || broken;
    state.ended = true;
    state.endedAt = Date.now();
  };
  const read = async (response) => {
    state.httpStatus = response.status;
    if (!response.ok) {
      const type = response.headers.get('content-type') || '';
      const challenge = response.headers.get('cf-mitigated') === 'challenge' ||
        (response.status === 403 && type.includes('text/html'));
      state.failure = response.status === 429 ? 'RATE_LIMIT'
        : challenge ? 'CHALLENGE'
        : (response.status === 401 || response.status === 403) ? 'AUTH_REQUIRED'
        : 'GENERATION_ERROR';
      state.detail = 'HTTP ' + response.status;
      end(false);
      return;
    }
    if (!response.body) { end(false); return; }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n')) >= 0) {
          handleLine(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 1);
        }
      }
      handleLine(buffer);
      end(false);
    } catch (e) {
      end(true);
    }
  };
  const original = window.fetch;
  window.fetch = function (input) {
    const url = typeof input === 'string' ? input : (input && input.url) || String(input);
    const promise = original.apply(this, arguments);
    if (!pattern.test(url)) return promise;
    state.generation += 1;
    Object.assign(state, { failure: null, detail: null, streamError: false, broken: false,
                           ended: false, endedAt: null, videos: {}, lastProgress: null });
    return promise.then((response) => {
      try { read(response.clone()); } catch (e) { end(true); }
      return response;
    }, (error) => { state.failure = 'NETWORK_ERROR'; state.detail = 'request failed'; end(true);
                    throw error; });
  };

  // ------------------------------------------------------------------- the page
  const visible = (e) => {
    const r = e.getBoundingClientRect();
    // Live regions for screen readers (a 1 px route announcer) are not toasts.
    return r.width > 2 && r.height > 2 && getComputedStyle(e).visibility !== 'hidden';
  };
  const inEditor = (e) => !!e.closest('[contenteditable="true"], textarea');
  const all = (css) => { try { return [...document.querySelectorAll(css)]; } catch (e) { return []; } };
  const textOf = (e) => (e.getAttribute('aria-label') || e.innerText || e.textContent || '')
    .trim().toLowerCase();
  const hasWord = (text, words) => words.some((w) => text.includes(w));
  const isLabel = (e, words) => {
    const names = [e.getAttribute('aria-label'), e.getAttribute('title'), e.innerText]
      .filter(Boolean).map((s) => s.trim().toLowerCase());
    return names.some((n) => words.includes(n));
  };
  const srcOf = (v) => v.currentSrc || v.getAttribute('src') || '';
  const playable = (v) => v.readyState >= 1 && v.duration > 0;
  const choiceDialog = (arg) => all(arg.choiceDialog)
    .find((d) => visible(d) && d.querySelectorAll('video').length >= 2) || null;
  const errorToasts = (arg) => all(arg.errorToast).filter((e) => visible(e) && !inEditor(e) &&
    !e.closest(arg.infoToast) && !e.hasAttribute('data-grokbatch-seen') && textOf(e));
  const classify = (text, words) => {
    if (hasWord(text, words.moderated)) return 'CONTENT_MODERATED';
    if (hasWord(text, words.rate_limit)) return 'RATE_LIMIT';
    if (hasWord(text, words.network_error)) return 'NETWORK_ERROR';
    return 'GENERATION_ERROR';
  };
  const pageFailure = (arg) => {
    const toast = errorToasts(arg)[0];
    return toast ? { kind: 'failure', outcome: classify(textOf(toast), arg.words), source: 'page' }
      : null;
  };
  const signInShown = (arg) => {
    const re = new RegExp(arg.signIn, 'i');
    const control = all('a, button, [role="button"]').find((e) => visible(e) && re.test(
      (e.innerText || e.getAttribute('aria-label') || '').trim()));
    return !!control && !all(arg.editor).some(visible);
  };
  const newVideo = (arg, made) => {
    const fresh = all('video').filter((v) => visible(v) && !v.closest(arg.choiceDialog) &&
      srcOf(v) && !arg.old.includes(srcOf(v)) && playable(v));
    const matching = fresh.find((v) => made.some((u) => srcOf(v).endsWith(u)));
    return matching || fresh[0] || null;
  };
  const pauseAll = () => all('video').forEach((v) => { try { v.pause(); } catch (e) {} });
  const madeUrls = () => Object.values(state.videos).filter((v) => v.url && !v.moderated)
    .sort((a, b) => a.index - b.index).map((v) => v.url);
  // The posts the site made for this generation's videos (each video is a post of its
  // own), named by the stream from its first object on: where a video made while nobody
  // watched can be found again.
  const videoPosts = () => Object.values(state.videos).filter((v) => v.post)
    .sort((a, b) => a.index - b.index).map((v) => v.post);
  // The percent the page shows of the generation ("NN%"), or -1 when it shows none.
  const pagePercent = (arg) => Math.max(-1, ...all(arg.progress).filter(visible).map((e) => {
    const m = /^\s*(\d{1,3})\s*%\s*$/.exec(e.textContent || '');
    return m ? Number(m[1]) : -1;
  }));

  // What the page alone shows of a generation's end: the choice dialog, or a new video.
  const pageResult = (arg) => {
    if (choiceDialog(arg)) return { kind: 'choice' };
    const video = newVideo(arg, []);
    if (!video) return null;
    pauseAll();
    return { kind: 'video', src: video.src || srcOf(video), made: [] };
  };

  // What decided this generation, or false while nothing did. Modes:
  //   generate: just clicked; wants progress (if asked), a failure, the made video(s).
  //   settle:   the stream made a video; wants the choice dialog or the video on the page,
  //             or (after `graceMs` past the stream's end) gives up on the page showing it.
  const check = (arg) => {
    const fresh = state.generation > arg.since;
    const made = fresh ? madeUrls() : [];
    if (arg.mode === 'settle') {
      if (choiceDialog(arg)) return { kind: 'choice' };
      const video = newVideo(arg, made);
      if (video) { pauseAll(); return { kind: 'video', src: video.src || srcOf(video), made }; }
      if (state.ended && Date.now() - state.endedAt > arg.graceMs) return { kind: 'settled', made };
      return false;
    }
    if (fresh) {
      if (made.length) return { kind: 'made', made, posts: videoPosts() };
      if (state.failure) return { kind: 'failure', outcome: state.failure, source: 'stream',
                                  detail: state.detail };
      if (state.streamError) return { kind: 'failure', outcome: 'GENERATION_ERROR',
                                      source: 'stream', detail: 'the stream reported an error' };
      if (!state.ended) {  // still streaming: nothing on the page can end it
        const p = state.lastProgress;
        return arg.wantProgress && p !== null
          ? { kind: 'progress', source: 'stream', posts: videoPosts() } : false;
      }
      if (state.broken) return { kind: 'failure', outcome: 'NETWORK_ERROR', source: 'stream',
                                 detail: 'the stream broke off' };
      if (Object.values(state.videos).some((v) => v.moderated)) {
        return { kind: 'failure', outcome: 'CONTENT_MODERATED', source: 'stream' };
      }
      // Ended, and said of no video that it was made, moderated or failed: it may say so
      // in words grokbatch does not read (a field renamed, another framing). The page
      // decides, for `graceMs` after the end (`misread`: the stream said nothing of it).
      const shown = pageResult(arg);
      if (shown) return { ...shown, misread: true };
      const failure = pageFailure(arg);
      if (failure) return { ...failure, progressed: state.lastProgress > 0 };
      if (Date.now() - state.endedAt < arg.graceMs) return false;
      // `unsure`: a video the stream named may be made all the same, on its post.
      return { kind: 'failure', outcome: 'GENERATION_ERROR', source: 'stream',
               detail: 'the stream ended without a video', unsure: true };
    }
    // No stream seen since the click: the page is all there is (`unseen`).
    const shown = pageResult(arg);
    if (shown) return { ...shown, unseen: true };
    const percent = pagePercent(arg);
    state.pageMax = Math.max(state.pageMax || 0, percent);  // since the click (`snapshot`)
    const failure = pageFailure(arg);
    if (failure) return { ...failure, unseen: true, progressed: state.pageMax > 0 };
    if (arg.wantProgress && percent >= 0) {
      return { kind: 'progress', source: 'page', unseen: true };
    }
    return false;
  };

  // Before the click: the videos already shown, the stream count, a sign-in or error
  // toast already showing (then marked, so that it is never taken for this attempt's).
  const snapshot = (arg) => {
    state.pageMax = 0;
    const toasts = errorToasts(arg);
    const failure = signInShown(arg) ? 'AUTH_REQUIRED'
      : toasts.length ? classify(textOf(toasts[0]), arg.words) : null;
    toasts.forEach((e) => e.setAttribute('data-grokbatch-seen', ''));
    return { generation: state.generation, failure, lang: document.documentElement.lang || '',
             srcs: all('video').map(srcOf).filter(Boolean) };
  };

  // The generate control: by selector, by the page's words for it, or as the plain button
  // beside the editor. Marked with data-grokbatch-target="generate" for Playwright to click.
  const markGenerate = (arg) => {
    document.querySelectorAll('[data-grokbatch-target="generate"]')
      .forEach((e) => e.removeAttribute('data-grokbatch-target'));
    const usable = (e) => visible(e) && !e.closest(arg.choiceDialog);
    const editor = all(arg.editor).find(visible);
    // Of several matches (an "Edit" elsewhere on the page, say), the one nearest the editor.
    const nearest = (found) => {
      const distance = (e) => {
        let d = 0;
        for (let box = editor; box && !box.contains(e); box = box.parentElement) d++;
        return d;
      };
      return !editor ? found[0] || null
        : found.map((e) => [distance(e), e]).sort((a, b) => a[0] - b[0]).map((p) => p[1])[0] || null;
    };
    let found = nearest(all(arg.makeVideo).filter(usable)) ||
      nearest(all(arg.redo).filter(usable)), how = found ? 'selector' : null;
    if (!found) {
      const labels = [...arg.words.make_video, ...arg.words.redo];
      found = nearest(all('button, [role="button"]').filter((e) => usable(e) && isLabel(e, labels)));
      if (found) how = 'words';
    }
    if (!found) {
      found = nearest(all(arg.editorSubmit).filter(usable));
      if (found) how = 'selector';
    }
    if (!found) {
      const others = [...arg.words.video_options, ...arg.words.more_options,
                      ...arg.words.close, ...arg.words.skip];
      for (let box = editor && editor.parentElement, up = 0; box && up < 5 && !found;
           box = box.parentElement, up++) {
        const buttons = [...box.querySelectorAll('button, [role="button"]')].filter((e) =>
          usable(e) && !e.hasAttribute('aria-haspopup') && !isLabel(e, others));
        found = buttons.find((e) => e.type === 'submit') || buttons[buttons.length - 1] || null;
      }
      if (found) how = 'beside the editor';
    }
    if (!found) return null;
    found.setAttribute('data-grokbatch-target', 'generate');
    const label = (found.getAttribute('aria-label') || found.innerText || '').trim().slice(0, 40);
    // Asked by doctor: what a click at its middle would reach instead (an overlay).
    const box = found.getBoundingClientRect();
    const top = arg.covered &&
      document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    const covered = top && top !== found && !found.contains(top)
      ? top.tagName.toLowerCase() + (top.id ? '#' + top.id : '') +
        [...top.classList].slice(0, 4).map((c) => '.' + c).join('')
      : null;
    return { how, label, covered,
             disabled: !!(found.disabled || found.getAttribute('aria-disabled') === 'true') };
  };

  // The choice dialog: mark what to click for `choice` (first, second, skip) and return
  // the src of the video that choice keeps (null for skip).
  const markChoice = (arg) => {
    document.querySelectorAll('[data-grokbatch-target="choice"]')
      .forEach((e) => e.removeAttribute('data-grokbatch-target'));
    const dialog = choiceDialog(arg);
    if (!dialog) return null;
    const videos = [...dialog.querySelectorAll('video')];
    let target = null, src = null;
    if (arg.choice === 'skip') {
      const buttons = [...dialog.querySelectorAll('button, [role="button"]')]
        .filter((e) => !e.querySelector('video'));
      target = buttons.find((e) => isLabel(e, arg.words.skip)) ||
        buttons.find((e) => hasWord(textOf(e), arg.words.skip)) ||
        buttons.find((e) => isLabel(e, arg.words.close)) || null;
    } else {
      const video = videos[arg.choice === 'second' ? 1 : 0];
      src = srcOf(video);
      target = video.closest('button, [role="button"], a, [tabindex]');
      if (!target || !dialog.contains(target) || target === dialog) {
        // A card holding this video and a button of its own ("Pick this").
        for (let box = video.parentElement; box && box !== dialog; box = box.parentElement) {
          if (box.querySelectorAll('video').length > 1) break;
          const button = box.querySelector('button, [role="button"]');
          if (button) { target = button; break; }
        }
      }
      if (!target || target === dialog) target = video;
    }
    if (!target) return { src, marked: false };
    target.setAttribute('data-grokbatch-target', 'choice');
    return { src, marked: true };
  };

  // A video post's page: the src of the video it shows, once it can play (null before).
  const shownVideo = (arg) => {
    const video = all('video').find((v) => visible(v) && !v.closest(arg.choiceDialog) &&
      srcOf(v) && playable(v));
    if (video) pauseAll();
    return video ? video.src || srcOf(video) : null;
  };

  window.__grokbatchPage = { check, snapshot, markGenerate, markChoice, shownVideo,
                             choiceShown: (arg) => !!choiceDialog(arg) };
}
