// Typesets the site's math with KaTeX: Sphinx writes \( \) in span.math and \[ \] in div.math
// (after an equation number, if any). A page whose KaTeX did not load says so.
document.addEventListener("DOMContentLoaded", function () {
  var math = document.querySelectorAll(".math");
  if (typeof katex === "undefined") {
    if (math.length) {
      var note = document.createElement("p");
      note.className = "sbp-nokatex";
      note.textContent = "KaTeX did not load from _static/katex/, so the mathematics below "
        + "is raw TeX: build the site again (it copies KaTeX there).";
      document.body.prepend(note);
    }
    return;
  }
  math.forEach(function (el) {
    var display = el.tagName === "DIV";
    var eqno = el.querySelector(".eqno");
    var tex = "";
    el.childNodes.forEach(function (n) { if (n.nodeType === 3) { tex += n.textContent; } });
    tex = tex.trim().replace(/^\\[\[(]/, "").replace(/\\[\])]$/, "");
    var out = document.createElement(display ? "div" : "span");
    katex.render(tex, out, {displayMode: display, throwOnError: false, strict: "ignore"});
    el.textContent = "";
    if (eqno) { el.appendChild(eqno); }
    el.appendChild(out);
  });
});
