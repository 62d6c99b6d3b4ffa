// A rich editor's text as ProseMirror holds it, read by both layouts' post pages: a line per
// block (a paragraph, or the block a browser makes of a typed line break), white space as
// typed. The editor's own empty paragraph is no line; a block of only a <br> is an empty one.
function simEditorText(el) {
  "use strict";
  var lines = [], line = null;
  function flush() { if (line !== null) { lines.push(line); line = null; } }
  Array.prototype.forEach.call(el.childNodes, function (node) {
    if (node.nodeType === Node.TEXT_NODE) { line = (line || "") + node.nodeValue; }
    else if (node.nodeName === "BR") { line = line || ""; flush(); }
    else if (node.nodeName === "P" || node.nodeName === "DIV") {
      flush();
      if (node.childNodes.length) { lines.push(node.innerText.replace(/\n$/, "")); }
    } else { line = (line || "") + node.textContent; }
  });
  flush();
  return lines.join("\n");
}
