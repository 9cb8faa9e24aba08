/* Small hand-written SVG charts for the analytics page: no library, no build step; an ES module the
 * analytics module imports.
 * Labels are set with textContent, so category names from data can never become markup. */
var NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  var node = document.createElementNS(NS, tag);
  for (var k in attrs) node.setAttribute(k, attrs[k]);
  if (text != null) node.textContent = text;
  return node;
}

function legend(series) {
  var box = document.createElement("div");
  box.className = "legend";
  series.forEach(function (s) {
    var item = document.createElement("span");
    var swatch = document.createElement("i");
    swatch.style.background = s.color;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(s.label));
    box.appendChild(item);
  });
  return box;
}

/* What the bars count, under the legend (every chart says its unit). */
function caption(target, opts) {
  if (!opts.caption && !opts.unit) return;
  var p = document.createElement("p");
  p.className = "caption";
  p.textContent = opts.caption || "Bars count " + opts.unit + ".";
  target.appendChild(p);
}

function empty(target, text) {
  var p = document.createElement("p");
  p.className = "empty";
  p.textContent = text || "No data in this period yet.";
  target.appendChild(p);
}

/* Vertical stacked bars: labels on x, one stack per label. values[i][j] = series j at label i. */
export function stacked(target, labels, series, values, opts) {
  opts = opts || {};
  while (target.firstChild) target.removeChild(target.firstChild);
  if (!labels.length) return empty(target);
  var W = 560, H = 220, left = 36, bottom = 28, top = opts.unit ? 26 : 10;
  var max = Math.max.apply(null, values.map(function (v) { return v.reduce(function (a, b) { return a + b; }, 0); }));
  max = Math.max(4, Math.ceil(max / 4) * 4);  // whole-number gridlines
  var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": opts.title || "chart" });
  if (opts.unit) chart.appendChild(svg("text", { x: 2, y: 11 }, opts.unit));
  var plotH = H - bottom - top, step = (W - left) / labels.length, bar = Math.min(38, step * 0.7);
  for (var t = 0; t <= 4; t++) {
    var y = top + plotH - plotH * t / 4;
    chart.appendChild(svg("line", { x1: left, x2: W, y1: y, y2: y, stroke: "#eef0f3" }));
    chart.appendChild(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, String(Math.round(max * t / 4))));
  }
  labels.forEach(function (label, i) {
    var x = left + i * step + (step - bar) / 2, y = top + plotH;
    series.forEach(function (s, j) {
      var h = plotH * (values[i][j] || 0) / max;
      if (h <= 0) return;
      y -= h;
      var rect = svg("rect", { x: x, y: y, width: bar, height: h, fill: s.color, rx: 2 });
      rect.appendChild(svg("title", {}, label + " \u00b7 " + s.label + ": " + values[i][j]));
      chart.appendChild(rect);
    });
    var every = Math.ceil(labels.length / 10);
    if (i % every === 0) {
      chart.appendChild(svg("text", { x: x + bar / 2, y: H - 10, "text-anchor": "middle" }, opts.short ? opts.short(label) : label));
    }
  });
  target.appendChild(chart);
  target.appendChild(legend(series));
  caption(target, opts);
}

/* Horizontal grouped bars, one group per label; `percent` formats values in 0..1 as %. */
export function horizontal(target, labels, series, values, opts) {
  opts = opts || {};
  while (target.firstChild) target.removeChild(target.firstChild);
  if (!labels.length) return empty(target, opts.emptyText);
  var W = 560, left = 130, row = 14 * series.length + 12, H = labels.length * row + 16;
  var max = opts.percent ? 1 : Math.max(1, Math.max.apply(null, values.map(function (v) { return Math.max.apply(null, v); })));
  var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": opts.title || "chart" });
  labels.forEach(function (label, i) {
    var y0 = 8 + i * row;
    chart.appendChild(svg("text", { x: left - 8, y: y0 + row / 2, "text-anchor": "end" }, label.length > 20 ? label.slice(0, 19) + "\u2026" : label));
    series.forEach(function (s, j) {
      var v = values[i][j] || 0, w = (W - left - 60) * v / max, y = y0 + j * 14;
      chart.appendChild(svg("rect", { x: left, y: y, width: Math.max(w, 1), height: 11, fill: s.color, rx: 2 }));
      var shown = opts.percent ? Math.round(v * 100) + "%" : String(v);
      chart.appendChild(svg("text", { x: left + Math.max(w, 1) + 5, y: y + 9 }, shown));
    });
  });
  target.appendChild(chart);
  if (series.length > 1 || opts.legend) target.appendChild(legend(series));
  caption(target, opts);
}
