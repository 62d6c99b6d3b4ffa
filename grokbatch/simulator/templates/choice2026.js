// The "Which video do you prefer?" dialog of the simulator's 2026 layout. A full-page
// backdrop under it takes every click until a card or Skip is clicked; the answer is sent
// (send returns a promise) before the dialog goes and done(chosen or null) is called.
var simShowChoice = (function () {
  "use strict";
  function element(tag, className, attributes) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    return node;
  }
  return function showChoice(results, T, send, makeVideo, done) {
    var backdrop = element("div", "choice-backdrop fixed inset-0 z-50",
                           { "data-state": "open", "aria-hidden": "true" });
    var dialog = element("div", "choice-dialog fixed z-50", {
      role: "dialog", "aria-modal": "true", "aria-labelledby": "choice-title", "data-state": "open"
    });
    var title = element("h2", "", { id: "choice-title" });
    title.textContent = T.choice_title;
    var options = element("div", "choice-options");
    var answering = false;
    async function answer(chosen) {
      if (answering) { return; }
      answering = true;
      try { await send(chosen); } catch (e) { /* the page keeps the answer anyway */ }
      backdrop.remove();
      dialog.remove();
      done(chosen);
    }
    results.forEach(function (result, i) {
      var card = element("div", "choice-option",
                         { role: "button", tabindex: "0", "data-video-id": result.videoId });
      card.appendChild(makeVideo(null, result.url));
      var caption = element("span");
      caption.textContent = T.choice_video.replace("{n}", String(i + 1));
      card.appendChild(caption);
      card.addEventListener("click", function () { answer(result); });
      card.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); answer(result); }
      });
      options.appendChild(card);
    });
    var skip = element("button", "", { type: "button" });
    skip.textContent = T.skip;
    skip.addEventListener("click", function () { answer(null); });
    dialog.appendChild(title);
    dialog.appendChild(options);
    dialog.appendChild(skip);
    document.body.appendChild(backdrop);
    document.body.appendChild(dialog);
  };
})();
