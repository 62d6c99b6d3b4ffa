// Post page behaviour of the simulator's 2026 layout: generation over the streamed NDJSON
// response (either format), sonner-style toasts, the Video Options / settings menus, the
// "Which video do you prefer?" dialog, upscale, download and delete.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("sim-config").textContent);
  var T = config.texts;
  var RESOLUTION_LIMIT = "PROGRESS_REPORT_CATEGORY_RESOLUTION_LIMIT";
  function $(selector, scope) { return (scope || document).querySelector(selector); }
  function $$(selector, scope) { return (scope || document).querySelectorAll(selector); }
  function numbered(text, n) { return text.replace("{n}", String(n)); }

  var root = $("#post");
  var postId = root.getAttribute("data-post-id");
  var editor = $(".query-bar .ProseMirror");
  var generateButton = $(".query-bar button.generate");
  var optionsButton = $("#video-options-trigger");
  var optionsIcon = optionsButton.innerHTML;
  var moreButton = $("#more-options-trigger");
  var downloadButton = $("#download-button");
  var upscaleItem = $("#upscale-item");
  var deleteItem = $("#delete-item");
  var tile = $(".video-tile");
  var overlay = $(".generating-overlay", tile);
  var strip = $(".history-strip");
  var toaster = $("ol[data-sonner-toaster]");
  var settings = {
    length: config.defaults.length,
    resolution: config.defaults.resolution,
    mode: config.defaults.mode
  };
  var busy = false;
  var controller = null;

  // --- toasts --------------------------------------------------------------------------------
  function toast(type, text, action) {
    var item = document.createElement("li");
    item.className = "toast";
    item.setAttribute("data-sonner-toast", "");
    item.setAttribute("data-type", type);
    item.setAttribute("role", "status");
    item.setAttribute("aria-live", "polite");
    var title = document.createElement("div");
    title.setAttribute("data-title", "");
    title.textContent = text;
    item.appendChild(title);
    if (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = action;
      item.appendChild(button);
    }
    toaster.appendChild(item);
  }
  function clearToasts() { toaster.textContent = ""; }

  // --- the video tile and history --------------------------------------------------------------
  function sdVideo() { return $("#sd-video"); }
  function makeVideo(id, src) {
    var video = document.createElement("video");
    if (id) { video.id = id; }
    video.setAttribute("src", src);
    ["autoplay", "muted", "loop", "playsinline"].forEach(function (a) { video.setAttribute(a, ""); });
    video.muted = true;
    return video;
  }
  function removeEyeOff() { $$("[data-icon=eye-off]", tile).forEach(function (i) { i.remove(); }); }
  function setHd(url) {
    var old = $("#hd-video");
    if (old) { old.remove(); }
    $(".hd-badge", tile).hidden = !url;
    if (url) { tile.insertBefore(makeVideo("hd-video", url), $(".hd-badge", tile)); }
  }
  function hasVideo() { return !!sdVideo(); }
  function refreshControls() {
    var video = sdVideo();
    generateButton.setAttribute("aria-label", video ? T.redo : T.make_video);
    moreButton.hidden = !video;
    downloadButton.hidden = !video;
    upscaleItem.disabled = !video || video.getAttribute("data-resolution") !== "480p" ||
      !!$("#hd-video");
    tile.setAttribute("data-state", video ? "done" : "empty");
  }
  // Makes `v` ({videoId, url, videoPostId, resolution}) the current video.
  function select(v) {
    var video = sdVideo();
    if (!video) {
      video = makeVideo("sd-video", v.url);
      tile.insertBefore(video, tile.firstChild);
    }
    video.setAttribute("src", v.url);
    video.setAttribute("data-video-id", v.videoId);
    video.setAttribute("data-video-post-id", v.videoPostId || "");
    video.setAttribute("data-resolution", v.resolution || "480p");
    setHd(null);
    removeEyeOff();
    refreshControls();
  }
  function addThumbnail(v) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "thumb";
    button.setAttribute("data-video-id", v.videoId);
    var img = document.createElement("img");
    img.setAttribute("alt", numbered(T.thumbnail, $$("img", strip).length + 1));
    img.setAttribute("src", v.thumbnail);
    button.appendChild(img);
    button.addEventListener("click", function () { select(v); });
    strip.appendChild(button);
  }
  function showVideo(v) {
    select(v);
    addThumbnail(v);
    if (config.navigate && v.videoPostId) {
      postId = v.videoPostId;
      root.setAttribute("data-post-id", postId);
      history.pushState({ postId: postId }, "", "/imagine/post/" + postId);
    }
  }

  // --- generation ----------------------------------------------------------------------------
  function assetUrl(url) { return /^(\/|https?:)/.test(url) ? url : "/assets/" + url; }
  function setPercent(percent) {
    optionsButton.innerHTML = '<span class="tabular-nums"></span>';
    $(".tabular-nums", optionsButton).textContent = percent + "%";
  }
  function startUi() {
    busy = true;
    clearToasts();
    removeEyeOff();
    tile.setAttribute("data-state", "generating");
    overlay.hidden = false;
    generateButton.disabled = true;
    setPercent(0);
  }
  function stopUi() {
    busy = false;
    controller = null;
    overlay.hidden = true;
    generateButton.disabled = false;
    optionsButton.innerHTML = optionsIcon;
    refreshControls();
  }
  function fail(text, action, moderated) {
    stopUi();
    if (text) { toast("error", text, action); }
    if (moderated) {
      tile.setAttribute("data-state", "moderated");
      tile.insertAdjacentHTML("beforeend", config.eyeOff);
    }
  }
  function readPrompt() {
    return simEditorText(editor).trim();  // editor_text.js
  }
  function requestBody() {
    var prompt = readPrompt();
    var mode = prompt && settings.mode === "normal" ? "custom" : settings.mode;
    var modelConfig = {
      parentPostId: postId, aspectRatio: "1:1",
      videoLength: settings.length, resolutionName: settings.resolution
    };
    return {
      temporary: true,
      modelName: "imagine-video-gen",
      message: (prompt ? prompt + " " : "") + "--mode=" + mode,
      enableSideBySide: true,
      responseMetadata: {
        experiments: [], modelConfigOverride: { modelMap: { videoGenModelConfig: modelConfig } }
      }
    };
  }
  // The stream's fields under the names this page knows them by (`renamedKeys`).
  function unrename(value) {
    var names = config.renamedKeys;
    if (Array.isArray(value)) { return value.map(unrename); }
    if (!value || typeof value !== "object") { return value; }
    var out = {};
    Object.keys(value).forEach(function (k) { out[names[k] || k] = unrename(value[k]); });
    return out;
  }
  // Reads a newline-delimited JSON body; onObject returns true to stop reading.
  async function readLines(response, onObject) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffered = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) { return; }
      buffered += decoder.decode(chunk.value, { stream: true });
      var nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        // NDJSON, or server-sent events: the JSON after "data:", other lines skipped.
        var line = buffered.slice(0, nl).trim().replace(/^data:\s*/, "");
        buffered = buffered.slice(nl + 1);
        if (!line || /^(event|id|retry):|^:/.test(line)) { continue; }
        if (onObject(unrename(JSON.parse(line)))) {
          reader.cancel().catch(function () {});
          return;
        }
      }
    }
  }
  function toResult(g) {
    var url = assetUrl(g.videoUrl);
    var thumb = g.thumbnailImageUrl ? assetUrl(g.thumbnailImageUrl)
      : url.replace(/generated_video\.mp4$/, "preview_image.jpg");
    return { videoId: g.videoId, url: url, thumbnail: thumb, videoPostId: g.videoPostId,
             resolution: g.resolutionName || settings.resolution };
  }
  function onObject(run, obj) {
    if (run.over) { return false; }
    if (obj.error) { run.over = true; fail(T.toast_generic); return true; }
    var response = obj.result && obj.result.response;
    var report = response && response.progressReport;
    if (report && report.category === RESOLUTION_LIMIT) { toast("info", T.toast_resolution_limit); }
    var g = response && response.streamingVideoGenerationResponse;
    if (!g) { return false; }
    var index = g.sideBySideIndex || 0;
    run.progress[index] = g.progress;
    if (g.moderated) { run.over = true; fail(T.toast_moderated, null, true); return true; }
    setPercent(Math.min.apply(null, Object.keys(run.progress).map(function (k) {
      return run.progress[k];
    })));
    if (g.progress >= 100 && g.videoUrl) { run.results[index] = toResult(g); }
    var indices = Object.keys(run.progress);
    if (indices.every(function (k) { return run.results[k]; })) {
      run.over = true;
      stopUi();
      var results = indices.sort().map(function (k) { return run.results[k]; });
      if (results.length > 1) { showChoice(results); } else { showVideo(results[0]); }
    }
    return false;
  }
  async function generate() {
    if (busy) { return; }
    closeMenus();
    startUi();
    controller = new AbortController();
    var signal = controller.signal;
    var run = { progress: {}, results: {}, over: false };
    var response;
    try {
      response = await fetch("/rest/app-chat/conversations/new", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(requestBody()), signal: signal
      });
    } catch (e) { fail(signal.aborted ? null : T.toast_network); return; }
    if (response.status === 429) { fail(T.toast_rate_limit, T.upgrade); return; }
    if (!response.ok) { fail(T.toast_generic); return; }
    try {
      await readLines(response, function (obj) { return onObject(run, obj); });
    } catch (e) {
      if (!run.over) { run.over = true; fail(signal.aborted ? null : T.toast_network); }
      return;
    }
    if (!run.over) { fail(T.toast_generic); }
  }
  generateButton.addEventListener("click", generate);
  $(".cancel-video", overlay).addEventListener("click", function () {
    if (controller) { controller.abort(); }
  });

  // --- "Which video do you prefer?" (choice2026.js) ------------------------------------------
  function postJson(url, body) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                        body: JSON.stringify(body) });
  }
  function showChoice(results) {
    simShowChoice(results, T, function (chosen) {
      return postJson(config.choicePath, {
        videoIds: results.map(function (r) { return r.videoId; }),
        preferredVideoId: chosen ? chosen.videoId : null
      });
    }, makeVideo, function (chosen) { showVideo(chosen || results[0]); });
  }

  // --- menus and settings ----------------------------------------------------------------------
  var menus = [
    [optionsButton, $("#video-options-menu")],
    [$("#model-select-trigger"), $("#settings-menu")],
    [moreButton, $("#more-menu")]
  ].filter(function (pair) { return pair[0] && pair[1]; });
  function closeMenus() {
    menus.forEach(function (pair) {
      pair[1].hidden = true;
      pair[0].setAttribute("aria-expanded", "false");
    });
  }
  menus.forEach(function (pair) {
    pair[0].addEventListener("click", function (event) {
      event.stopPropagation();
      var wasHidden = pair[1].hidden;
      closeMenus();
      if (wasHidden) {
        pair[1].hidden = false;
        pair[0].setAttribute("aria-expanded", "true");
      }
    });
  });
  document.addEventListener("click", function (event) {
    if (!menus.some(function (pair) { return pair[1].contains(event.target); })) { closeMenus(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeMenus(); }
  });
  $$("[data-setting]").forEach(function (item) {
    item.addEventListener("click", function () {
      var key = item.getAttribute("data-setting");
      var value = item.getAttribute("data-value");
      settings[key] = key === "length" ? parseInt(value, 10) : value;
      $$("[data-setting=" + key + "]").forEach(function (other) {
        other.setAttribute("aria-checked", other.getAttribute("data-value") === value ? "true" : "false");
      });
      var summary = $(".settings-summary");
      if (summary) { summary.textContent = settings.length + "s · " + settings.resolution; }
      if (item.getAttribute("role") === "menuitemradio") { closeMenus(); }
    });
  });

  // --- upscale, download, delete ---------------------------------------------------------------
  upscaleItem.addEventListener("click", async function () {
    closeMenus();
    var video = sdVideo();
    if (!video || upscaleItem.disabled) { return; }
    upscaleItem.disabled = true;
    var upscaling = $(".upscaling", tile);
    upscaling.hidden = false;
    try {
      var response = await postJson("/rest/media/video/upscale",
                                    { videoId: video.getAttribute("data-video-id") });
      if (!response.ok) { throw new Error("upscale failed"); }
      await readLines(response, function (obj) {
        if (obj.progress >= 100 && obj.hdMediaUrl) { setHd(obj.hdMediaUrl); return true; }
        return false;
      });
    } catch (e) { /* the item is enabled again below */ }
    upscaling.hidden = true;
    refreshControls();
  });
  downloadButton.addEventListener("click", function () {
    var video = $("#hd-video") || sdVideo();
    if (!video) { return; }
    var link = document.createElement("a");
    link.href = video.getAttribute("src");
    link.download = "grok-video-" + sdVideo().getAttribute("data-video-id") + ".mp4";
    document.body.appendChild(link);
    link.click();
    link.remove();
  });
  deleteItem.addEventListener("click", function () {
    closeMenus();
    var video = sdVideo();
    if (!video) { return; }
    var videoId = video.getAttribute("data-video-id");
    var dialog = document.createElement("div");
    dialog.className = "confirm";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-label", T.delete_title);
    var text = document.createElement("p");
    text.textContent = T.delete_text;
    dialog.appendChild(text);
    [T.cancel, T.delete].forEach(function (label) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      dialog.appendChild(button);
    });
    var buttons = $$("button", dialog);
    buttons[0].addEventListener("click", function () { dialog.remove(); });
    buttons[1].addEventListener("click", async function () {
      var response = await postJson("/rest/media/post/delete", { videoId: videoId });
      dialog.remove();
      if (!response.ok) { return; }
      video.remove();
      setHd(null);
      var thumb = $(".thumb[data-video-id='" + videoId + "']", strip);
      if (thumb) { thumb.remove(); }
      refreshControls();
    });
    document.body.appendChild(dialog);
  });
  $$(".thumb", strip).forEach(function (button) {
    button.addEventListener("click", function () {
      select({ videoId: button.getAttribute("data-video-id"),
               url: $("img", button).getAttribute("src").replace(/preview_image\.jpg$/,
                                                                  "generated_video.mp4") });
    });
  });

  var banner = $("[data-announcement]");
  if (banner) {
    $("button", banner).addEventListener("click", function () { banner.remove(); });
  }
  refreshControls();
})();
