// faithlab report: draws each text's views from the JSON embedded in the page, only when the text scrolls into
// view (or a control changes), so a run of many texts opens at once. No network, no eval, no innerHTML of data:
// every piece of user text is set with textContent.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("fl-data").textContent);
  const POS = [214, 39, 40], NEG = [31, 100, 200];
  const state = { level: "token", scale: "row", special: false };
  const drawn = new Set();

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function rgb(scaled) {
    const end = scaled >= 0 ? POS : NEG, w = Math.min(1, Math.abs(scaled));
    return "rgb(" + end.map((c) => Math.round(255 + w * (c - 255))).join(",") + ")";
  }
  function units(text, row) {
    if (state.level === "word") {
      return text.words.map((w, i) => ({ text: w[0], space: w[1], special: false, score: row.word_scores[i] }));
    }
    return text.tokens.map((t, i) => ({ text: t[0], special: t[1], space: t[2], score: row.token_scores[i] }))
      .filter((u) => state.special || !u.special);
  }
  function largest(list) { return list.reduce((m, u) => Math.max(m, Math.abs(u.score)), 0); }

  function drawExplanations(box, text) {
    const rows = text.rows.map((row) => ({ row: row, units: units(text, row) }));
    const shared = rows.reduce((m, r) => Math.max(m, largest(r.units)), 0);
    const table = el("table", { class: "fl-grid" });
    for (const { row, units: list } of rows) {
      const limit = state.scale === "row" ? largest(list) : shared;
      const tr = el("tr");
      const head = el("td", { class: "fl-method" });
      head.append(el("b", {}, row.method), " → " + row.target, el("br"),
        el("span", { class: "fl-meta" }, row.conventions + " · full colour at |score| = " + limit.toPrecision(4)));
      for (const w of row.warnings) head.append(el("div", { class: "fl-warn" }, "⚠ " + w));
      const cell = el("td", { class: "fl-units" });
      for (const u of list) {
        if (u.space) cell.append(" ");
        const scaled = limit > 0 ? u.score / limit : 0;
        const span = el("span", { class: u.special ? "fl-u fl-special" : "fl-u", title: String(u.score) }, u.text);
        span.style.background = rgb(scaled);
        span.style.color = Math.abs(scaled) > 0.6 ? "#fff" : "#000";
        cell.append(span);
      }
      tr.append(head, cell);
      table.append(tr);
    }
    box.append(table);
  }

  function drawTable(box, title, columns, rows) {
    const details = el("details");
    details.append(el("summary", {}, title));
    details.addEventListener("toggle", () => {
      if (!details.open || details.querySelector("table")) return;
      const table = el("table", { class: "fl-table" });
      const head = el("tr");
      for (const c of columns) head.append(el("th", {}, c));
      table.append(head);
      for (const r of rows) {
        const tr = el("tr");
        for (const v of r) tr.append(el("td", {}, v === null ? "n/a" : typeof v === "number" ? v.toPrecision(4) : String(v)));
        table.append(tr);
      }
      details.append(table);
    });
    box.append(details);
  }

  function drawCurves(box, curves) {
    const ns = "http://www.w3.org/2000/svg", w = 320, h = 160, pad = 28;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("class", "fl-curves");
    const axis = document.createElementNS(ns, "path");
    axis.setAttribute("d", `M${pad},8 V${h - pad} H${w - 8}`);
    axis.setAttribute("stroke", "#888");
    axis.setAttribute("fill", "none");
    svg.append(axis);
    const legend = el("ul", { class: "fl-curve-legend" });
    for (const c of curves) {
      const line = document.createElementNS(ns, "polyline");
      const pts = c.x.map((x, i) => [pad + x * (w - pad - 8), h - pad - c.confidence[i] * (h - pad - 8)]);
      line.setAttribute("points", pts.map((p) => p.join(",")).join(" "));
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", c.color);
      if (c.curve === "lerf") line.setAttribute("stroke-dasharray", "4 3");
      svg.append(line);
      const item = el("li", {}, `${c.method} ${c.curve.toUpperCase()}: area ${c.area === null ? "n/a" : c.area.toFixed(3)}, ${c.label}`);
      item.style.borderLeft = "12px solid " + c.color;
      legend.append(item);
    }
    box.append(el("div", { class: "fl-meta" }, "MoRF (solid) and LeRF (dashed): confidence of the predicted " +
      "class (0 to 1) against the fraction of tokens removed (0 to 1). " + (curves[0] ? curves[0].rule : "")));
    box.append(svg, legend);
  }

  function drawText(section, index, box) {
    const text = section.texts[index];
    box.textContent = "";
    const probs = text.probabilities.map((p) => p[0] + " " + p[1].toFixed(3)).join(", ");
    box.append(el("div", { class: "fl-pred" }, "prediction: " + text.predicted + " (" + probs + ")"));
    drawExplanations(box, text);
    if (text.deletions) drawTable(box, "deletion table · " + section.deletion_quantity, section.deletion_columns,
      text.deletions);
    if (text.attention) drawTable(box, "attention received: top tokens (no specials, punctuation or symbols)",
      ["position", "token", "received"], text.attention);
    if (text.curves) drawCurves(box, text.curves);
    if (text.metrics) drawTable(box, "faithfulness of each method on this text", ["method", "metric", "value"],
      text.metrics);
  }

  function redraw() {
    for (const key of drawn) {
      const [s, i] = key.split(":").map(Number);
      const box = document.querySelector(`[data-section="${s}"][data-text="${i}"] .fl-body`);
      if (box) drawText(DATA.sections[s], i, box);
    }
    const legend = document.getElementById("fl-state");
    if (legend) {
      legend.textContent = "units: " + (state.level === "token" ? "tokens" : "words (tokenizer word ids, merged by " +
        DATA.aggregation + ")") + " · colour: " + (state.scale === "row" ? "each row scaled by its own largest " +
        "|score|" : "one scale shared by the rows of a text") + ", white at 0 · special tokens: " +
        (state.special ? "shown" : "hidden") + " · hover a unit for its exact score";
    }
  }

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const node = entry.target, s = Number(node.dataset.section), i = Number(node.dataset.text);
      observer.unobserve(node);
      drawn.add(s + ":" + i);
      drawText(DATA.sections[s], i, node.querySelector(".fl-body"));
    }
  }, { rootMargin: "400px" });

  DATA.sections.forEach((section, s) => {
    if (section.kind !== "texts") return;
    const host = document.getElementById("fl-texts-" + s);
    section.texts.forEach((text, i) => {
      const box = el("section", { class: "fl-text", "data-section": s, "data-text": i });
      box.append(el("div", { class: "fl-input" }, text.text));
      if (text.pair !== null) box.append(el("div", { class: "fl-input fl-pair" }, text.pair));
      box.append(el("div", { class: "fl-body" }, "…"));
      host.append(box);
      observer.observe(box);
    });
  });
  for (const [name, key] of [["fl-level", "level"], ["fl-scale", "scale"]]) {
    const control = document.getElementById(name);
    if (control) control.addEventListener("change", () => { state[key] = control.value; redraw(); });
  }
  const special = document.getElementById("fl-special");
  if (special) special.addEventListener("change", () => { state.special = special.checked; redraw(); });
  redraw();
})();
