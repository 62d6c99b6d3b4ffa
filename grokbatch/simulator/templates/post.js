// Post page behaviour of the Grok Imagine simulator: generation over a streamed NDJSON
// response, the Video Options / More options menus, upscale and delete.
(function () {
  "use strict";
  var MSG = {
    limit: "You've reached your limit of video generations. Upgrade or try again later.",
    moderated: "This video was moderated. Try a different idea.",
    network: "Network error. Please check your connection and try again.",
    generic: "Something went wrong. Please try again.",
    resolutionLimit: "You've reached your 720p limit. This video will be made in 480p."
  };
  var RESOLUTION_LIMIT = "PROGRESS_REPORT_CATEGORY_RESOLUTION_LIMIT";
  var root = document.getElementById("post");
  var postId = root.getAttribute("data-post-id");
  var navigate = root.getAttribute("data-navigate") === "true";
  var form = document.getElementById("generate-form");
  var button = form.querySelector("button[type=submit]");
  var progress = document.querySelector("[data-testid=generation-progress]");
  var messages = document.getElementById("messages");
  var videoArea = document.querySelector("[data-testid=video-area]");
  var moreButton = document.querySelector("button[aria-label='More options']");
  var moreMenu = document.getElementById("more-menu");
  var upscaleItem = document.getElementById("upscale-item");
  var deleteItem = document.getElementById("delete-item");
  var upscaleProgress = document.querySelector("[data-testid=upscale-progress]");
  var lengthButton = document.querySelector("button[aria-label='Video Options']");
  var lengthMenu = document.getElementById("length-menu");
  var busy = false;
  var rateLimited = false;
  var videoLength = 6;

  function editor() {
    return document.querySelector("[aria-label='Make a video']");
  }
  function readPrompt() {
    var el = editor();
    if (!el) { return ""; }
    return (el.value !== undefined ? el.value : simEditorText(el)).trim();  // editor_text.js
  }
  function currentVideo() {
    return videoArea.querySelector("video[data-testid=generated-video]");
  }
  function setButtonLabel(label) {
    button.textContent = label;
    button.setAttribute("aria-label", label);
  }
  function clearMessages() {
    while (messages.firstChild) { messages.removeChild(messages.firstChild); }
  }
  function showProgress(el, percent) {
    el.textContent = percent + "%";
    el.hidden = false;
  }
  function hideProgress(el) {
    el.textContent = "";
    el.hidden = true;
  }
  function fail(text) {
    hideProgress(progress);
    clearMessages();
    var alert = document.createElement("div");
    alert.setAttribute("role", "alert");
    alert.setAttribute("data-testid", "generation-error");
    alert.textContent = text;
    messages.appendChild(alert);
    busy = false;
    button.disabled = rateLimited;
  }
  function makeVideo(testId, src) {
    var v = document.createElement("video");
    v.setAttribute("data-testid", testId);
    v.setAttribute("src", src);
    ["autoplay", "muted", "loop", "playsinline"].forEach(function (a) { v.setAttribute(a, ""); });
    v.muted = true;
    return v;
  }
  function clearVideos() {
    videoArea.querySelectorAll("video").forEach(function (v) { v.remove(); });
  }
  // The captured stream names files relative to the assets root, served under /assets/.
  function assetUrl(url) {
    return /^(\/|https?:)/.test(url) ? url : "/assets/" + url;
  }
  function showInfo(text) {
    var info = document.createElement("div");
    info.setAttribute("role", "status");
    info.setAttribute("data-testid", "generation-info");
    info.textContent = text;
    messages.appendChild(info);
  }
  function showVideo(videoId, url, videoPostId) {
    if (navigate && videoPostId) {
      postId = videoPostId;
      root.setAttribute("data-post-id", postId);
      history.pushState({ postId: postId }, "", "/imagine/post/" + postId);
    }
    clearVideos();
    var v = makeVideo("generated-video", url);
    v.setAttribute("data-video-id", videoId);
    videoArea.insertBefore(v, videoArea.firstChild);
    hideProgress(progress);
    setButtonLabel("Redo");
    moreButton.hidden = false;
    upscaleItem.disabled = false;
    busy = false;
    button.disabled = rateLimited;
  }

  // Reads a newline-delimited JSON body line by line; onLine returns true to stop.
  async function readLines(response, onLine) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffered = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) { return false; }
      buffered += decoder.decode(chunk.value, { stream: true });
      var nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        var line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line && onLine(JSON.parse(line))) {
          reader.cancel().catch(function () {});
          return true;
        }
      }
    }
  }

  function onGenerationLine(obj) {
    if (obj.error) { fail(MSG.generic); return true; }
    var response = obj.result && obj.result.response;
    var report = response && response.progressReport;
    if (report && report.category === RESOLUTION_LIMIT) { showInfo(MSG.resolutionLimit); }
    var g = response && response.streamingVideoGenerationResponse;
    if (!g) { return false; }
    if (g.moderated) { fail(MSG.moderated); return true; }
    showProgress(progress, g.progress);
    if (g.progress >= 100 && g.videoUrl) {
      showVideo(g.videoId, assetUrl(g.videoUrl), g.videoPostId);
      return true;
    }
    return false;
  }

  async function generate(event) {
    event.preventDefault();
    if (busy || rateLimited) { return; }
    busy = true;
    button.disabled = true;
    clearMessages();
    showProgress(progress, 0);
    var response;
    try {
      response = await fetch("/rest/app-chat/conversations/new", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ postId: postId, prompt: readPrompt(), videoLength: videoLength })
      });
    } catch (e) { fail(MSG.network); return; }
    if (response.status === 429) { rateLimited = true; fail(MSG.limit); return; }
    if (!response.ok) { fail(MSG.generic); return; }
    var finished;
    try {
      finished = await readLines(response, onGenerationLine);
    } catch (e) { fail(MSG.network); return; }
    if (!finished) { fail(MSG.generic); }
  }
  form.addEventListener("submit", generate);

  // --- menus -------------------------------------------------------------------------------
  function openMenu(btn, menu) {
    closeMenus();
    menu.hidden = false;
    btn.setAttribute("aria-expanded", "true");
  }
  function closeMenus() {
    [[lengthButton, lengthMenu], [moreButton, moreMenu]].forEach(function (pair) {
      pair[1].hidden = true;
      pair[0].setAttribute("aria-expanded", "false");
    });
  }
  function toggle(btn, menu) {
    return function (event) {
      event.stopPropagation();
      if (menu.hidden) { openMenu(btn, menu); } else { closeMenus(); }
    };
  }
  lengthButton.addEventListener("click", toggle(lengthButton, lengthMenu));
  moreButton.addEventListener("click", toggle(moreButton, moreMenu));
  document.addEventListener("click", function (event) {
    if (!lengthMenu.contains(event.target) && !moreMenu.contains(event.target)) { closeMenus(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeMenus(); }
  });
  lengthMenu.querySelectorAll("[role=menuitemradio]").forEach(function (item) {
    item.addEventListener("click", function () {
      videoLength = parseInt(item.getAttribute("data-length"), 10);
      lengthMenu.querySelectorAll("[role=menuitemradio]").forEach(function (other) {
        other.setAttribute("aria-checked", other === item ? "true" : "false");
      });
      lengthButton.setAttribute("data-length", String(videoLength));
      closeMenus();
    });
  });

  // --- upscale and delete ------------------------------------------------------------------
  async function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    });
  }
  upscaleItem.addEventListener("click", async function () {
    closeMenus();
    var video = currentVideo();
    if (!video || upscaleItem.disabled) { return; }
    upscaleItem.disabled = true;
    showProgress(upscaleProgress, 0);
    try {
      var response = await postJson("/rest/media/video/upscale",
                                    { videoId: video.getAttribute("data-video-id") });
      if (!response.ok) { throw new Error("upscale failed"); }
      await readLines(response, function (obj) {
        showProgress(upscaleProgress, obj.progress);
        if (obj.progress >= 100 && obj.hdMediaUrl) {
          videoArea.insertBefore(makeVideo("hd-video", obj.hdMediaUrl), moreButton);
          return true;
        }
        return false;
      });
    } catch (e) {
      upscaleItem.disabled = false;
    }
    hideProgress(upscaleProgress);
  });
  deleteItem.addEventListener("click", function () {
    closeMenus();
    var video = currentVideo();
    if (!video) { return; }
    var dialog = document.createElement("div");
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-label", "Delete video");
    dialog.setAttribute("aria-modal", "true");
    dialog.className = "confirm";
    dialog.innerHTML = "<p>Delete this video? This cannot be undone.</p>" +
      "<button type=button>Cancel</button> <button type=button>Delete</button>";
    var buttons = dialog.querySelectorAll("button");
    buttons[0].addEventListener("click", function () { dialog.remove(); });
    buttons[1].addEventListener("click", async function () {
      var response = await postJson("/rest/media/post/delete",
                                    { videoId: video.getAttribute("data-video-id") });
      dialog.remove();
      if (response.ok) {
        clearVideos();
        moreButton.hidden = true;
        setButtonLabel("Make video");
      }
    });
    document.body.appendChild(dialog);
  });

  var banner = document.querySelector("[data-testid=announcement]");
  if (banner) {
    banner.querySelector("button[aria-label=Close]").addEventListener("click", function () {
      banner.remove();
    });
  }
})();
