/* snaketune: the report's interactive parallel-coordinates view, in plain SVG.
 *
 * Reads its data from the JSON script element #parcoords-data (parsed, never evaluated)
 * and draws into the .pc element around it: one vertical axis per parameter and the metric
 * last, one line per finished trial colored by score. Drag along an axis to
 * keep a range, hover a line for its trial, Reset clears every range. All text from the
 * study goes in through textContent, never as markup.
 */
(function () {
  "use strict";

  var HEIGHT = 440;
  var MARGIN = { top: 62, right: 28, bottom: 22, left: 64 };
  var CHAR = 6.4; // average width of a 11-12px character, for fitting labels
  var RAMP = [
    [68, 1, 84], [72, 40, 120], [62, 73, 137], [49, 104, 142], [38, 130, 142],
    [31, 158, 137], [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37]
  ];
  var RAMP_TOP = 0.93; // the palest yellow is hard to see on white
  var BEST = "#f8b500"; // the best trial: gold, as the star in the report's figures

  function rampColor(t) {
    t = Math.max(0, Math.min(1, t)) * RAMP_TOP * (RAMP.length - 1);
    var i = Math.min(Math.floor(t), RAMP.length - 2);
    var f = t - i;
    var a = RAMP[i];
    var b = RAMP[i + 1];
    var c = [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); });
    return "rgb(" + c.join(",") + ")";
  }

  function shorten(text, limit, keepEnd) {
    text = String(text);
    if (text.length <= limit) { return text; }
    if (limit < 2) { return "…"; }
    return keepEnd ? "…" + text.slice(text.length - limit + 1) : text.slice(0, limit - 1) + "…";
  }

  function formatNumber(v) {
    if (v === 0) { return "0"; }
    var a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) {
      return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
    }
    return String(parseFloat(v.toPrecision(4)));
  }

  function niceTicks(lo, hi, count) {
    var raw = (hi - lo) / count;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var err = raw / mag;
    var step = mag * (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1);
    var ticks = [];
    for (var k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) {
      ticks.push(parseFloat((k * step).toPrecision(12)));
    }
    return ticks;
  }

  function logTicks(lo, hi) {
    var ticks = [];
    var first = Math.floor(Math.log10(lo));
    var last = Math.ceil(Math.log10(hi));
    var mults = last - first <= 2 ? [1, 2, 5] : [1];
    for (var e = first; e <= last; e++) {
      for (var m = 0; m < mults.length; m++) {
        var v = parseFloat((mults[m] * Math.pow(10, e)).toPrecision(12));
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) { ticks.push(v); }
      }
    }
    if (ticks.length > 7) { ticks = ticks.filter(function (_, i) { return i % 2 === 0; }); }
    return ticks.length >= 2 ? ticks : [lo, hi];
  }

  /* An axis's scale: pos(value) is 0 (bottom) .. 1 (top), or null for no value. */
  function makeScale(axis, values) {
    if (axis.kind === "category") {
      var n = axis.categories.length;
      var cat = function (i) { return n <= 1 ? 0.5 : 1 - i / (n - 1); };
      return {
        pos: function (v) { return v === null || v === undefined ? null : cat(v); },
        ticks: axis.categories.map(function (label, i) { return { f: cat(i), label: label }; }),
        category: true
      };
    }
    var log = axis.kind === "log";
    var finite = values.filter(function (v) {
      return typeof v === "number" && isFinite(v) && (!log || v > 0);
    });
    if (!finite.length) { return { pos: function () { return null; }, ticks: [] }; }
    var lo = Math.min.apply(null, finite);
    var hi = Math.max.apply(null, finite);
    if (lo === hi) {
      return {
        pos: function (v) { return typeof v === "number" ? 0.5 : null; },
        ticks: [{ f: 0.5, label: formatNumber(lo) }]
      };
    }
    var t = log ? Math.log : function (v) { return v; };
    var a = t(lo);
    var span = t(hi) - a;
    var pos = function (v) {
      if (typeof v !== "number" || !isFinite(v) || (log && v <= 0)) { return null; }
      return (t(v) - a) / span;
    };
    var ticks = (log ? logTicks(lo, hi) : niceTicks(lo, hi, 5)).map(function (v) {
      return { f: pos(v), label: formatNumber(v) };
    });
    return { pos: pos, ticks: ticks };
  }

  function ParallelCoordinates(root, data, ns) {
    this.root = root;
    this.data = data;
    this.ns = ns;
    this.svg = root.querySelector(".pc-svg");
    this.plot = root.querySelector(".pc-plot");
    this.tip = root.querySelector(".pc-tip");
    this.status = root.querySelector(".pc-status");
    this.brushes = {}; // axis index -> [lo, hi] as fractions of the axis height
    this.width = 0;
    var trials = data.trials;
    this.scales = data.axes.map(function (axis, j) {
      return makeScale(axis, trials.map(function (t) { return t.v[j]; }));
    });
    this.positions = trials.map(function (t) {
      return t.v.map(function (v, j) { return this.scales[j].pos(v); }, this);
    }, this);
    var scores = trials.map(function (t) { return t.v[t.v.length - 1]; });
    this.low = Math.min.apply(null, scores.concat([Infinity]));
    this.high = Math.max.apply(null, scores.concat([-Infinity]));
    var self = this;
    root.querySelector(".pc-reset").addEventListener("click", function () {
      self.brushes = {};
      self.draw();
    });
    this.legend();
    this.draw();
    var pending = false;
    window.addEventListener("resize", function () {
      if (pending) { return; }
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        if (self.plot.clientWidth !== self.width) { self.draw(); }
      });
    });
  }

  ParallelCoordinates.prototype.el = function (name, attrs, parent, text) {
    var node = document.createElementNS(this.ns, name);
    for (var key in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, key)) { node.setAttribute(key, attrs[key]); }
    }
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  };

  /* Darker is better whatever the goal: the best trials stand out on white. */
  ParallelCoordinates.prototype.color = function (score) {
    if (!(this.high > this.low)) { return rampColor(0.3); }
    var t = (score - this.low) / (this.high - this.low);
    return rampColor(this.data.goal === "maximize" ? 1 - t : t);
  };

  ParallelCoordinates.prototype.lineColor = function (trial) {
    return trial.best ? BEST : this.color(trial.v[trial.v.length - 1]);
  };

  ParallelCoordinates.prototype.legend = function () {
    var box = this.root.querySelector(".pc-legend");
    var data = this.data;
    if (!box || !data.trials.length) { return; }
    var stops = [];
    for (var i = 0; i <= 10; i++) { stops.push(rampColor(i / 10) + " " + i * 10 + "%"); }
    var add = function (tag, text) {
      var node = document.createElement(tag);
      if (text !== undefined) { node.textContent = text; }
      box.appendChild(node);
      return node;
    };
    var maximize = data.goal === "maximize";
    add("span", "color: " + data.metric + ", best");
    add("span", formatNumber(maximize ? this.high : this.low));
    var ramp = add("span");
    ramp.className = "pc-ramp";
    ramp.style.background = "linear-gradient(90deg," + stops.join(",") + ")";
    add("span", formatNumber(maximize ? this.low : this.high));
    add("span", "worst");
    var best = data.trials.filter(function (t) { return t.best; })[0];
    if (best) {
      add("span", "· gold line: best trial " + best.id + " (" + best.t[best.t.length - 1] + ")");
    }
  };

  ParallelCoordinates.prototype.x = function (j) {
    var n = this.data.axes.length;
    if (n === 1) { return this.width / 2; }
    return this.left + j * (this.width - this.left - MARGIN.right) / (n - 1);
  };

  ParallelCoordinates.prototype.y = function (f) {
    return MARGIN.top + (1 - f) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  };

  /* The line through a trial's values; an axis where it has none is passed by. */
  ParallelCoordinates.prototype.pathOf = function (i) {
    var p = this.positions[i];
    var points = [];
    for (var j = 0; j < p.length; j++) {
      if (p[j] !== null) { points.push(this.x(j).toFixed(1) + " " + this.y(p[j]).toFixed(1)); }
    }
    if (points.length === 1) { // one value (a study without parameters): a short dash
      var xy = points[0].split(" ");
      return "M" + (+xy[0] - 14).toFixed(1) + " " + xy[1] + "h28";
    }
    return points.length ? "M" + points.join("L") : "M0 0";
  };

  ParallelCoordinates.prototype.draw = function () {
    var self = this;
    var data = this.data;
    var axes = data.axes;
    var svg = this.svg;
    this.width = Math.max(this.plot.clientWidth || 0, 320);
    var first = this.scales[0];
    var longest = 0;
    (first.ticks || []).forEach(function (t) { longest = Math.max(longest, Math.min(t.label.length, 16)); });
    this.left = Math.max(MARGIN.left, Math.min(130, longest * CHAR + 16));
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    svg.setAttribute("viewBox", "0 0 " + this.width + " " + HEIGHT);
    svg.setAttribute("width", this.width);
    svg.setAttribute("height", HEIGHT);
    this.tip.hidden = true;

    var lines = this.el("g", { "class": "pc-lines" }, svg);
    var hits = this.el("g", { "class": "pc-hits" }, svg);
    var axisLayer = this.el("g", { "class": "pc-axes" }, svg);
    this.highlight = this.el("path", { fill: "none", "stroke-width": 4, "pointer-events": "none",
      visibility: "hidden" }, svg);
    var brushLayer = this.el("g", { "class": "pc-brushes" }, svg);

    // worst first and the best trial last, so better lines are on top
    var order = data.trials.map(function (_, i) { return i; });
    var sign = data.goal === "maximize" ? 1 : -1;
    order.sort(function (a, b) {
      var ta = data.trials[a];
      var tb = data.trials[b];
      if (ta.best !== tb.best) { return ta.best ? 1 : -1; }
      return sign * (ta.v[ta.v.length - 1] - tb.v[tb.v.length - 1]);
    });
    this.paths = [];
    order.forEach(function (i) {
      var trial = data.trials[i];
      var d = self.pathOf(i);
      var color = self.lineColor(trial);
      if (trial.best) {
        self.el("path", { d: d, fill: "none", stroke: "#1d2330", "stroke-width": 6,
          "stroke-linejoin": "round", "class": "pc-best-halo" }, lines);
      }
      var path = self.el("path", { d: d, stroke: color,
        "class": "pc-line" + (trial.best ? " pc-best" : "") }, lines);
      self.paths[i] = path;
      self.el("path", { d: d, fill: "none", stroke: "transparent", "stroke-width": 9,
        "pointer-events": "stroke", "data-i": i }, hits);
    });

    var spacing = axes.length > 1 ? (this.width - this.left - MARGIN.right) / (axes.length - 1) : this.width;
    var widest = 0;
    axes.forEach(function (a) { widest = Math.max(widest, a.name.length); });
    var stagger = widest * CHAR + 10 > spacing;
    var nameChars = Math.max(4, Math.floor(((stagger ? 2 : 1) * spacing - 12) / CHAR));
    var top = this.y(1);
    var bottom = this.y(0);
    axes.forEach(function (axis, j) {
      var x = self.x(j);
      var g = self.el("g", { "class": "pc-axis" }, axisLayer);
      self.el("line", { x1: x, x2: x, y1: top, y2: bottom, stroke: "#7a8394", "stroke-width": 1 }, g);
      var suffix = axis.metric ? (data.goal === "maximize" ? " ↑" : " ↓") : "";
      var ty = stagger ? (j % 2 === 1 ? 20 : 38) : 30;
      var label = self.el("text", { x: x, y: ty, "text-anchor": "middle",
        "class": "pc-name pc-halo" }, g);
      var room = (stagger ? 2 : 1) * spacing - 12;
      var chars = Math.min(axis.name.length, Math.ceil(nameChars * 1.5));
      var width = self.fitText(label, axis.name, chars, suffix);
      while (width > room && chars > 4) {
        chars -= 2;
        width = self.fitText(label, axis.name, chars, suffix);
      }
      label.setAttribute("x", Math.max(width / 2 + 2, Math.min(self.width - width / 2 - 2, x)));
      if (axis.metric) { label.setAttribute("fill", "#3b5bdb"); }
      self.el("title", {}, label, axis.name + (axis.kind === "log" ? " (log scale)" : ""));
      if (stagger && j % 2 === 1) {
        self.el("line", { x1: x, x2: x, y1: ty + 4, y2: top - 4, stroke: "#d5dae2" }, g);
      }
      self.drawTicks(g, self.scales[j], x, bottom - top);
      var brush = self.brushes[j];
      if (brush) {
        self.el("rect", { x: x - 8, width: 16, y: self.y(brush[1]),
          height: Math.max(2, self.y(brush[0]) - self.y(brush[1])), rx: 3, fill: "#3b5bdb",
          "fill-opacity": 0.18, stroke: "#3b5bdb", "stroke-width": 1, "pointer-events": "none" },
        brushLayer);
      }
      var overlay = self.el("rect", { x: x - 14, width: 28, y: top - 6, height: bottom - top + 12,
        fill: "transparent", "class": "pc-overlay", "data-j": j }, brushLayer);
      overlay.style.cursor = "ns-resize";
      overlay.style.touchAction = "none";
      self.bindBrush(overlay, j);
    });
    if (!data.trials.length) {
      this.el("text", { x: this.width / 2, y: (top + bottom) / 2, "text-anchor": "middle",
        "class": "pc-name pc-halo" }, svg, "No finished trial yet: nothing to draw.");
    }
    this.bindHover(hits);
    this.filter();
  };

  /* Writes the name (its end kept) into `node` and returns its width in pixels. */
  ParallelCoordinates.prototype.fitText = function (node, text, chars, suffix) {
    node.textContent = shorten(text, chars, true) + suffix;
    var width = node.getComputedTextLength ? node.getComputedTextLength() : 0;
    return width || node.textContent.length * CHAR;
  };

  ParallelCoordinates.prototype.drawTicks = function (g, scale, x, height) {
    var ticks = scale.ticks;
    var every = 1;
    if (scale.category && ticks.length > 1) {
      every = Math.max(1, Math.ceil(14 / (height / (ticks.length - 1))));
    }
    for (var k = 0; k < ticks.length; k++) {
      if (k % every !== 0 && k !== ticks.length - 1) { continue; }
      var y = this.y(ticks[k].f);
      this.el("line", { x1: x - 4, x2: x, y1: y, y2: y, stroke: "#7a8394" }, g);
      var text = this.el("text", { x: x - 7, y: y + 3.5, "text-anchor": "end",
        "class": "pc-halo" }, g, shorten(ticks[k].label, 16, false));
      if (ticks[k].label.length > 16) { this.el("title", {}, text, ticks[k].label); }
    }
  };

  ParallelCoordinates.prototype.bindBrush = function (overlay, j) {
    var self = this;
    var start = null;
    var moved = false;
    var frame = 0;
    var fraction = function (event) {
      var box = self.svg.getBoundingClientRect();
      var y = (event.clientY - box.top) * (HEIGHT / (box.height || HEIGHT));
      var f = 1 - (y - MARGIN.top) / (HEIGHT - MARGIN.top - MARGIN.bottom);
      return f > 0.985 ? 1 : f < 0.015 ? 0 : f; // near an end is the end
    };
    overlay.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) { return; }
      event.preventDefault();
      try {
        overlay.setPointerCapture(event.pointerId);
      } catch (ignored) { /* an event without an active pointer (synthetic) */ }
      start = { f: fraction(event), y: event.clientY };
      moved = false;
    });
    overlay.addEventListener("pointermove", function (event) {
      if (!start) { return; }
      if (!moved && Math.abs(event.clientY - start.y) < 3) { return; }
      moved = true;
      var f = fraction(event);
      self.brushes[j] = [Math.min(start.f, f), Math.max(start.f, f)];
      if (!frame) {
        frame = window.requestAnimationFrame(function () {
          frame = 0;
          self.drawBrush(j);
          self.filter();
        });
      }
    });
    var end = function () {
      if (!start) { return; }
      start = null;
      if (!moved) { delete self.brushes[j]; } // a click clears the axis
      self.draw();
    };
    overlay.addEventListener("pointerup", end);
    overlay.addEventListener("pointercancel", end);
  };

  ParallelCoordinates.prototype.drawBrush = function (j) {
    var layer = this.svg.querySelector(".pc-brushes");
    var live = layer.querySelector(".pc-live");
    var brush = this.brushes[j];
    if (!brush) { return; }
    if (!live) {
      live = this.el("rect", { "class": "pc-live", width: 16, rx: 3, fill: "#3b5bdb",
        "fill-opacity": 0.18, stroke: "#3b5bdb", "pointer-events": "none" });
      layer.insertBefore(live, layer.firstChild);
    }
    live.setAttribute("x", this.x(j) - 8);
    live.setAttribute("y", this.y(brush[1]));
    live.setAttribute("height", Math.max(2, this.y(brush[0]) - this.y(brush[1])));
  };

  ParallelCoordinates.prototype.filter = function () {
    var brushes = this.brushes;
    var keys = Object.keys(brushes);
    var shown = 0;
    var eps = 1e-9;
    for (var i = 0; i < this.positions.length; i++) {
      var p = this.positions[i];
      var inside = true;
      for (var k = 0; k < keys.length && inside; k++) {
        var b = brushes[keys[k]];
        var f = p[keys[k]];
        inside = f !== null && f >= b[0] - eps && f <= b[1] + eps;
      }
      if (inside) { shown++; }
      this.paths[i].classList.toggle("pc-out", !inside);
      this.paths[i].dataset.out = inside ? "" : "1";
    }
    var halo = this.svg.querySelector(".pc-best-halo");
    var bestIndex = -1;
    this.data.trials.forEach(function (t, i) { if (t.best) { bestIndex = i; } });
    if (halo && bestIndex >= 0) {
      halo.setAttribute("visibility", this.paths[bestIndex].dataset.out ? "hidden" : "visible");
    }
    var total = this.positions.length;
    var text = total === 0 ? "No finished trial yet." :
      keys.length ? shown + " of " + total + " trials in the selected ranges" :
      total + (total === 1 ? " finished trial" : " finished trials");
    var unscored = this.data.unscored || 0;
    if (unscored) {
      text += " · " + unscored + (unscored === 1 ? " trial" : " trials") +
        " without a score (failed, skipped, ...) not drawn";
    }
    this.status.textContent = text;
  };

  ParallelCoordinates.prototype.bindHover = function (hits) {
    var self = this;
    hits.addEventListener("pointermove", function (event) {
      var i = event.target.getAttribute("data-i");
      if (i === null) { return; }
      self.showTip(+i, event);
    });
    hits.addEventListener("pointerleave", function () {
      self.tip.hidden = true;
      self.highlight.setAttribute("visibility", "hidden");
    });
  };

  ParallelCoordinates.prototype.showTip = function (i, event) {
    var trial = this.data.trials[i];
    var axes = this.data.axes;
    var tip = this.tip;
    if (tip.dataset.i !== String(i)) {
      tip.dataset.i = String(i);
      while (tip.firstChild) { tip.removeChild(tip.firstChild); }
      var head = document.createElement("b");
      head.textContent = trial.id + (trial.best ? " (best)" : "");
      tip.appendChild(head);
      var table = document.createElement("table");
      var body = document.createElement("tbody");
      table.appendChild(body);
      var order = [axes.length - 1];
      for (var j = 0; j < axes.length - 1; j++) { order.push(j); }
      order.forEach(function (j) {
        var row = document.createElement("tr");
        var name = document.createElement("td");
        var value = document.createElement("td");
        name.textContent = shorten(axes[j].name, 34, true);
        value.textContent = trial.t[j];
        if (axes[j].metric) { row.style.fontWeight = "600"; }
        row.appendChild(name);
        row.appendChild(value);
        body.appendChild(row);
      });
      tip.appendChild(table);
      this.highlight.setAttribute("d", this.paths[i].getAttribute("d"));
      this.highlight.setAttribute("stroke", this.lineColor(trial));
    }
    this.highlight.setAttribute("visibility", "visible");
    tip.hidden = false;
    var box = this.plot.getBoundingClientRect();
    var x = event.clientX - box.left;
    var y = event.clientY - box.top;
    var w = tip.offsetWidth;
    var h = tip.offsetHeight;
    var left = x + 16 + w > box.width ? x - 16 - w : x + 16;
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = Math.max(0, Math.min(y - h / 2, HEIGHT - h)) + "px";
  };

  function start() {
    var source = document.getElementById("parcoords-data");
    var root = document.getElementById("parcoords");
    if (!source || !root) { return; }
    var svg = root.querySelector(".pc-svg");
    var data = JSON.parse(source.textContent);
    // the namespace of the <svg> the HTML parser made, so the script names no URL
    new ParallelCoordinates(root, data, svg.namespaceURI);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
