// Tally's dashboard script: draws the charts whose data the server put in
// data-chart attributes (the API's own values), moves the period with the
// arrow keys, and refreshes the page's content when the account's results
// version moves (a write was answered). No inline script anywhere: the
// Content-Security-Policy allows only files from this server.
(function () {
  "use strict";

  var charts = [];
  var colors = {
    "mrr-new-business": "#2f9e44", "mrr-expansion": "#74b816", "mrr-reactivation": "#1098ad",
    "mrr-contraction": "#f08c00", "mrr-churn": "#e03131", "mrr": "#364fc7", "net-new-mrr": "#364fc7",
    "a": "#364fc7", "b": "#e8590c"
  };
  var palette = ["#364fc7", "#e8590c", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#5c940d"];

  function fmt(spec, unit, v) {
    if (v === null || v === undefined) return "–";
    var n = Number(v);
    if (unit === "money") {
      var d = spec.decimals === undefined ? 2 : spec.decimals;
      var s = (Math.abs(n) / Math.pow(10, d)).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
      return (n < 0 ? "-" : "") + (spec.symbol || "") + s;
    }
    if (unit === "pct") return n + "%";
    return n.toLocaleString("en-US");
  }

  function axisFmt(spec, unit) {
    return function (u, vals) {
      return vals.map(function (v) {
        if (unit === "money") {
          var n = v / Math.pow(10, spec.decimals === undefined ? 2 : spec.decimals);
          var a = Math.abs(n), s;
          var trim = function (x) { return x.toFixed(1).replace(/\.0$/, ""); };
          if (a >= 1e6) s = trim(a / 1e6) + "M";
          else if (a >= 1e3) s = trim(a / 1e3) + "k";
          else s = String(Math.round(a));
          return (n < 0 ? "-" : "") + (spec.symbol || "") + s;
        }
        if (unit === "pct") return v + "%";
        return String(v);
      });
    };
  }

  // Entries sit at even steps (a short last period keeps a full-width
  // bar); the axis names each step by its entry's date.
  function xs(spec) {
    if (spec.kind === "step") return spec.dates.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
    return spec.dates.map(function (d, i) { return i; });
  }

  function xAxis(spec, width) {
    var n = spec.dates.length;
    var every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(width / 80))));
    return {
      splits: function () {
        var out = [];
        for (var i = (n - 1) % every; i < n; i += every) out.push(i);
        return out;
      },
      values: function (u, splits) { return splits.map(function (i) { return spec.dates[i] || ""; }); }
    };
  }

  // build turns a chart spec into uPlot options and data. Stacked movement
  // bars are drawn as running totals, the tallest first, so each segment
  // shows its own part; the legend and links read the raw values.
  function build(el, spec) {
    var x = xs(spec);
    var data = [x];
    var series = [spec.kind === "step" ? { label: "Date" } :
      { label: "Date", value: function (u, v) { return v == null ? "–" : (spec.dates[v] || "–"); } }];
    var parts = []; // per drawn series: {key, lo[], hi[], raw[], links[]}
    var width = Math.max(el.clientWidth, 120);
    var spark = spec.kind === "spark";
    var height = spark ? 40 : 320;
    var bars = uPlot.paths.bars({ size: [0.6, 60] });
    var stepped = uPlot.paths.stepped({ align: 1 });
    // A customer's steps sit on a time axis: their dates are uneven.
    // A customer's MRR from zero, so a step down looks its size.
    var scales = spec.kind === "step" ? { x: { time: true }, y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; } } } :
      { x: { time: false, range: function () { return [-0.5, Math.max(0, x.length - 0.5)]; } } };
    var axes = [spec.kind === "step" ? {} : xAxis(spec, width), { values: axisFmt(spec, spec.unit), size: 70 }];

    function raw(s) { return s.values.map(Number); }

    if (spec.kind === "movements") {
      var gains = spec.series.filter(function (s) { return s.role === "gain" && s.key !== "net-new-mrr"; });
      var losses = spec.series.filter(function (s) { return s.role === "loss"; });
      [gains, losses].forEach(function (group) {
        var run = x.map(function () { return 0; });
        var stack = [];
        group.forEach(function (s) {
          var r = raw(s);
          var lo = run.slice();
          run = run.map(function (v, i) { return v + r[i]; });
          stack.push({ s: s, lo: lo, hi: run.slice(), raw: r });
        });
        stack.reverse().forEach(function (p) {
          data.push(p.hi);
          parts.push({ key: p.s.key, lo: p.lo, hi: p.hi, raw: p.raw, links: p.s.links || [] });
          series.push({
            label: p.s.label, fill: colors[p.s.key], stroke: colors[p.s.key], width: 0, paths: bars,
            fillTo: function () { return 0; }, points: { show: false },
            value: (function (r) { return function (u, v, si, i) { return i == null ? "–" : fmt(spec, "money", r[i]); }; })(p.raw)
          });
        });
      });
      var line = spec.series.filter(function (s) { return s.role === "line"; })[0];
      if (line) {
        data.push(raw(line));
        parts.push({ key: line.key, raw: raw(line), links: line.links || [] });
        series.push({ label: line.label, stroke: colors.mrr, width: 2, scale: "mrr",
          value: function (u, v) { return fmt(spec, "money", v); } });
        scales.mrr = {};
        axes.push({ scale: "mrr", side: 1, grid: { show: false }, values: axisFmt(spec, "money"), size: 70 });
      }
    } else {
      spec.series.forEach(function (s, k) {
        var r = raw(s);
        data.push(r);
        parts.push({ key: s.key, raw: r, links: s.links || [] });
        var c = colors[s.key] || palette[k % palette.length];
        var o = { label: s.label, stroke: c, width: spark ? 1.5 : 2,
          value: function (u, v) { return fmt(spec, s.unit, v); } };
        if (s.role === "bar" && k === 0) { o.paths = bars; o.fill = c + "99"; o.width = 0; o.fillTo = function () { return 0; }; o.points = { show: false }; }
        if (spec.kind === "step") { o.paths = stepped; o.fill = c + "22"; }
        series.push(o);
      });
    }

    var opts = {
      width: width, height: height, series: series, scales: scales, axes: axes,
      cursor: spark ? { show: false } : { points: { show: false } },
      legend: { show: !spark, live: true },
      hooks: { draw: [function (u) { if (spec.unfinished && !spark) shadeLast(u, x); }] }
    };
    if (spark) {
      opts.axes = [{ show: false }, { show: false }];
      opts.padding = [2, 2, 2, 2];
      opts.select = { show: false };
    }
    return { opts: opts, data: data, parts: parts };
  }

  // shadeLast marks the last period, which is not over yet.
  function shadeLast(u, x) {
    var n = x.length;
    if (n === 0) return;
    var ctx = u.ctx;
    var right = u.bbox.left + u.bbox.width;
    var left = u.valToPos(n - 1.5, "x", true);
    ctx.save();
    ctx.fillStyle = "rgba(120,120,120,0.12)";
    ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
    ctx.fillStyle = "rgba(80,80,80,0.8)";
    ctx.font = (11 * devicePixelRatio) + "px sans-serif";
    ctx.fillText("in progress", left + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
    ctx.restore();
  }

  // drill opens the activities behind the clicked point: for stacked bars
  // the segment under the pointer, otherwise the first linked series.
  function drill(u, parts) {
    var i = u.cursor.idx;
    if (i == null) return;
    var y = u.posToVal(u.cursor.top, "y");
    var hit = null;
    parts.forEach(function (p) {
      if (!p.lo || hit) return;
      var a = Math.min(p.lo[i], p.hi[i]), b = Math.max(p.lo[i], p.hi[i]);
      if (y >= a && y <= b && a !== b) hit = p;
    });
    if (!hit) hit = parts.filter(function (p) { return !p.lo && p.links.length; })[0];
    if (hit && hit.links[i]) location.href = hit.links[i];
  }

  function drawAll() {
    var t0 = performance.now();
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var els = document.querySelectorAll("[data-chart]");
    var pending = els.length;
    document.body.dataset.ready = "0";
    function finished() {
      document.body.dataset.drawMs = String(Math.round(performance.now() - t0));
      document.body.dataset.ready = "1";
    }
    if (pending === 0) { finished(); return; }
    els.forEach(function (el) {
      var spec = JSON.parse(el.dataset.chart);
      el.textContent = "";
      var b = build(el, spec);
      var done = false;
      b.opts.hooks.ready = [function () {
        if (!done) { done = true; pending--; if (pending === 0) finished(); }
      }];
      var u = new uPlot(b.opts, b.data, el);
      u.spec = spec;
      if (spec.kind !== "spark") {
        u.over.addEventListener("click", function () { drill(u, b.parts); });
        u.over.classList.add("clickable");
      }
      charts.push(u);
    });
  }

  function keys(e) {
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var a = null;
    if (e.key === "ArrowLeft") a = document.querySelector("form.period a[rel=prev]");
    if (e.key === "ArrowRight") a = document.querySelector("form.period a[rel=next]");
    if (a) location.href = a.href;
  }

  // live polls the results version once a second; when it moved, the
  // page's content is fetched again and swapped in, charts redrawn.
  function live() {
    var url = document.body.dataset.live;
    if (!url) return;
    var busy = false, stopped = false;
    setInterval(function () {
      if (busy || stopped || document.hidden) return;
      busy = true;
      fetch(url, { headers: { "X-Tally-Live": "1" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          // Signed out, key revoked, share link revoked: final. The page
          // loads again and shows why (the sign-in page, a 404).
          if (r.status === 401 || r.status === 403 || r.status === 404) { stopped = true; location.reload(); throw new Error("live " + r.status); }
          if (!r.ok) throw new Error("live " + r.status);
          return r.json();
        })
        .then(function (v) {
          if (v.version === document.body.dataset.version) return;
          // Someone typing in a form of the page keeps it; the change
          // shows once they leave it.
          var f = document.activeElement;
          if (f && f !== document.body && document.getElementById("main").contains(f) && /INPUT|SELECT|TEXTAREA/.test(f.tagName)) return;
          return fetch(location.href, { headers: { "X-Tally-Live": "1" }, credentials: "same-origin", cache: "no-store" })
            .then(function (r) {
              // A refusal (429 while the key is busy, say) or a redirect
              // (to the sign-in page) keeps the page as it is; the next
              // poll tries again.
              if (!r.ok || r.redirected) throw new Error("refresh " + r.status);
              return r.text();
            })
            .then(function (html) {
              var doc = new DOMParser().parseFromString(html, "text/html");
              var main = doc.getElementById("main");
              if (!main) return;
              document.getElementById("main").replaceWith(document.adoptNode(main));
              document.body.dataset.version = doc.body.dataset.version || v.version;
              enhance();
              drawAll();
            });
        })
        .catch(function () {})
        .then(function () { busy = false; });
    }, 1000);
  }

  // The filter builder (a form that works without script: its rows are
  // c0-filter, c0-op, c0-value… and the server writes them as CFL into
  // the filters parameter). Here it offers each filter's operators and a
  // picker of its values, and adds and removes rows. Events are
  // delegated: the live refresh swaps the form.
  function catalogOf(form) {
    if (!form._catalog) form._catalog = JSON.parse(form.dataset.catalog || "{}");
    return form._catalog;
  }

  function opLabel(op) {
    return { ANY: "is any of", ALL: "has all of", NONE: "is none of", EQ: "=", NOT_EQ: "\u2260", GT: ">",
      GTE: "\u2265", LT: "<", LTE: "\u2264", BETWEEN: "between", CONTAINS: "contains",
      NOT_CONTAINS: "does not contain", IS: "is not set", IS_NOT: "is set" }[op] || op;
  }

  function el(tag, attrs) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  // fitRow gives a row the operators and value control of its filter (of
  // its type, for a custom attribute); IS and IS_NOT take no value.
  function fitRow(row) {
    var form = row.closest("form.builder");
    var cat = catalogOf(form);
    var n = row.dataset.n;
    var name = row.querySelector(".c-filter").value;
    var def = (cat.filters || []).filter(function (d) { return d.name === name; })[0];
    var keyed = !!(def && def.keyed);
    [row.querySelector(".c-key"), row.querySelector(".c-type")].forEach(function (f) { f.hidden = !keyed; f.disabled = !keyed; });
    var spec = def;
    if (keyed) spec = def.types[row.querySelector(".c-type").value] || def;
    var op = row.querySelector(".c-op");
    var was = op.value;
    var ops = spec ? spec.ops : cat.all_ops || [];
    op.textContent = "";
    ops.forEach(function (o) {
      var opt = el("option", { value: o });
      opt.textContent = opLabel(o);
      if (o === was) opt.selected = true;
      op.appendChild(opt);
    });
    var cell = row.querySelector(".c-value");
    var old = cell.querySelector("select, input");
    var kept = old ? (old.tagName === "SELECT" ? Array.prototype.map.call(old.selectedOptions, function (o) { return o.value; }) :
      old.value.split(",").map(function (v) { return v.trim(); })) : [];
    cell.textContent = "";
    var choices = def && def.source ? (cat.choices || {})[def.source] || [] : null;
    if (choices) {
      var sel = el("select", { name: "c" + n + "-value", multiple: "", size: String(Math.min(4, Math.max(2, choices.length))), "aria-label": "Values" });
      choices.forEach(function (c) {
        var opt = el("option", { value: c.value });
        opt.textContent = c.label;
        if (kept.indexOf(c.value) >= 0) opt.selected = true;
        sel.appendChild(opt);
      });
      cell.appendChild(sel);
    } else {
      var inp = el("input", { name: "c" + n + "-value", "aria-label": "Values", placeholder: (spec && spec.hint) || "values, comma-separated" });
      inp.value = old && old.tagName === "INPUT" ? old.value : "";
      cell.appendChild(inp);
    }
    fitValue(row);
  }

  // fitValue hides the value of IS and IS_NOT (NULL, written by the
  // server).
  function fitValue(row) {
    var op = row.querySelector(".c-op").value;
    row.querySelector(".c-value").hidden = op === "IS" || op === "IS_NOT";
  }

  function addRow(form) {
    var rows = form.querySelectorAll(".cond");
    var blank = form.querySelector(".cond.blank");
    if (!blank) return;
    var n = 0;
    rows.forEach(function (r) { n = Math.max(n, Number(r.dataset.n) + 1); });
    var row = blank.cloneNode(true);
    row.dataset.n = String(n);
    row.querySelectorAll("[name]").forEach(function (f) { f.name = f.name.replace(/^c[0-9]+-/, "c" + n + "-"); f.value = ""; });
    row.querySelector(".c-filter").selectedIndex = 0;
    blank.parentNode.appendChild(row);
    fitRow(row);
    row.querySelector(".c-filter").focus();
  }

  function enhance() {
    document.querySelectorAll("form.builder .add-cond, form.builder .c-remove").forEach(function (b) { b.hidden = false; });
    document.querySelectorAll("form.builder .cond.blank").forEach(fitRow);
    document.querySelectorAll("form.builder .cond").forEach(fitValue);
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if ((t.classList.contains("c-filter") || t.classList.contains("c-type")) && t.closest("form.builder")) fitRow(t.closest(".cond"));
    if (t.classList.contains("c-op") && t.closest("form.builder")) fitValue(t.closest(".cond"));
    if (t.classList.contains("autosubmit") && t.form) t.form.requestSubmit();
  });
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t.classList.contains("add-cond")) addRow(t.closest("form.builder"));
    if (t.classList.contains("c-remove")) {
      // A removed row sends an empty filter: the server drops it.
      var row = t.closest(".cond");
      row.querySelector(".c-filter").value = "";
      row.hidden = true;
      row.closest("form.builder").requestSubmit();
    }
  });

  // A heat map cell says all its values when the pointer is on it (the
  // page carries them once, in its data attributes).
  document.addEventListener("mouseover", function (e) {
    var td = e.target.closest && e.target.closest("#cohorts-table td.cell[data-age]");
    if (!td || td.title) return;
    var t = td.closest("table").dataset, d = td.dataset;
    var spec = { symbol: t.symbol, decimals: Number(t.decimals) };
    td.title = d.date + ": " + fmt(spec, "count", d.customers) + " customers (" + d.customersPercentage + "%), MRR " +
      fmt(spec, "money", d.mrr) + " (" + d.mrrPercentage + "%)";
  });

  // A GET form leaves its empty fields out of the URL it makes (an empty
  // filters= or geo= says nothing).
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if ((f.method || "").toLowerCase() !== "get") return;
    Array.prototype.forEach.call(f.elements, function (el) {
      if (el.name && !el.disabled && (el.tagName === "INPUT" || el.tagName === "SELECT") && el.type !== "submit" && el.value === "" && !el.multiple) {
        el.disabled = true;
        el.dataset.emptied = "1";
      }
    });
  });
  // Back to a page kept in the history: its fields work again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-emptied]").forEach(function (el) { el.disabled = false; delete el.dataset.emptied; });
  });

  var resizing;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(drawAll, 200);
  });
  document.addEventListener("keydown", keys);
  document.addEventListener("DOMContentLoaded", function () { enhance(); drawAll(); live(); });
  window.tallyCharts = function () { return charts; };
})();
