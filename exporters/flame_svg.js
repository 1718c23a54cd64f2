// dtscope flame graph: zoom, search and details for the SVG this file is inlined in.
// Plain ES5 and the SVG DOM only, so the file works offline in any browser.
// Each frame is <g class="f" data-s=START data-n=COUNT data-d=DEPTH> holding a <title>
// ("name\n(details)"), a <rect> and a <text>; START and COUNT are in samples.
"use strict";
(function () {
  var svg = document.documentElement;
  var total = +svg.getAttribute("data-total");
  var pad = +svg.getAttribute("data-pad");
  var plotWidth = +svg.getAttribute("data-plot-width");
  var charWidth = +svg.getAttribute("data-char-width");
  var minWidth = +svg.getAttribute("data-min-width");
  var details = document.getElementById("details");
  var matchedText = document.getElementById("matched");
  var unzoomButton = document.getElementById("unzoom");
  var searchButton = document.getElementById("search");
  var resetSearchButton = document.getElementById("resetsearch");

  var frames = [];
  var groups = document.querySelectorAll("g.f");
  for (var i = 0; i < groups.length; i++) {
    var g = groups[i];
    var title = g.getElementsByTagName("title")[0].textContent;
    var cut = title.lastIndexOf("\n(");
    frames.push({
      g: g,
      rect: g.getElementsByTagName("rect")[0],
      text: g.getElementsByTagName("text")[0],
      name: cut >= 0 ? title.substring(0, cut) : title,
      info: cut >= 0 ? title.substring(cut + 2, title.length - 1) : "",
      s: +g.getAttribute("data-s"),
      n: +g.getAttribute("data-n"),
      d: +g.getAttribute("data-d")
    });
    g.setAttribute("data-i", i);
  }

  function fit(name, width) {
    var chars = Math.floor((width - 6) / charWidth);
    if (chars < 3) return "";
    return name.length <= chars ? name : name.substring(0, chars - 2) + "..";
  }

  function place(f, x, width) {
    f.rect.setAttribute("x", (pad + x).toFixed(4));
    f.rect.setAttribute("width", width.toFixed(4));
    f.text.setAttribute("x", (pad + x + 3).toFixed(4));
    f.text.textContent = fit(f.name, width);
  }

  function show(f, visible) {
    if (visible) f.g.classList.remove("hidden");
    else f.g.classList.add("hidden");
  }

  var zoomed = null;

  function zoom(target) {
    var scale = plotWidth / target.n;
    var end = target.s + target.n;
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      f.g.classList.remove("parent");
      if (f.d < target.d) {
        var ancestor = f.s <= target.s && f.s + f.n >= end;
        show(f, ancestor);
        if (ancestor) {
          f.g.classList.add("parent");
          place(f, 0, plotWidth);
        }
      } else if (f.s >= target.s && f.s + f.n <= end) {
        var width = f.n * scale;
        show(f, width >= minWidth);
        place(f, (f.s - target.s) * scale, width);
      } else {
        show(f, false);
      }
    }
    zoomed = target;
    unzoomButton.classList.remove("hidden");
    svg.setAttribute("data-zoomed", target.g.getAttribute("data-i"));
  }

  function unzoom() {
    var scale = total ? plotWidth / total : 0;
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      f.g.classList.remove("parent");
      show(f, true);
      place(f, f.s * scale, f.n * scale);
    }
    zoomed = null;
    unzoomButton.classList.add("hidden");
    svg.removeAttribute("data-zoomed");
  }

  function search(term) {
    var pattern;
    try {
      pattern = new RegExp(term);
    } catch (e) {
      matchedText.textContent = "Bad pattern: " + term;
      return;
    }
    var spans = [];
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      if (pattern.test(f.name)) {
        f.g.classList.add("match");
        spans.push([f.s, f.s + f.n]);
      } else {
        f.g.classList.remove("match");
      }
    }
    // A match nested in another match is the same samples: count the union once.
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var covered = 0, reach = -1;
    for (var j = 0; j < spans.length; j++) {
      var lo = Math.max(spans[j][0], reach), hi = spans[j][1];
      if (hi > lo) covered += hi - lo;
      if (hi > reach) reach = hi;
    }
    var share = total ? covered / total : 0;
    matchedText.textContent = "Matched: " + (100 * share).toFixed(2) + "% (" + covered + " of " + total + ")";
    svg.setAttribute("data-match-share", share.toString());
    svg.setAttribute("data-match-count", covered.toString());
    resetSearchButton.classList.remove("hidden");
  }

  function resetSearch() {
    for (var i = 0; i < frames.length; i++) frames[i].g.classList.remove("match");
    matchedText.textContent = " ";
    svg.removeAttribute("data-match-share");
    svg.removeAttribute("data-match-count");
    resetSearchButton.classList.add("hidden");
  }

  function askSearch() {
    var term = window.prompt("Search for a frame (regular expression):", "");
    if (term) search(term);
  }

  function frameOf(node) {
    while (node && node !== svg) {
      if (node.classList && node.classList.contains("f")) return frames[+node.getAttribute("data-i")];
      node = node.parentNode;
    }
    return null;
  }

  svg.addEventListener("click", function (event) {
    var f = frameOf(event.target);
    if (f) zoom(f);
  });
  svg.addEventListener("mouseover", function (event) {
    var f = frameOf(event.target);
    if (f) details.textContent = f.name + " (" + f.info + ")";
  });
  svg.addEventListener("mouseout", function (event) {
    if (frameOf(event.target)) details.textContent = " ";
  });
  unzoomButton.addEventListener("click", unzoom);
  searchButton.addEventListener("click", askSearch);
  resetSearchButton.addEventListener("click", resetSearch);
  window.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "f") {
      event.preventDefault();
      askSearch();
    } else if (event.key === "Escape") {
      unzoom();
      resetSearch();
    }
  });

  // For scripts and tests driving the page: the same actions the buttons take.
  window.flamegraph = { zoom: function (i) { zoom(frames[i]); }, unzoom: unzoom,
                        search: search, resetSearch: resetSearch };
})();
