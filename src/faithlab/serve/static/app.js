// faithlab serve: the page's logic. Plain DOM, no framework, no network request beyond this server's /api.
// Every text from the user or the model is set through textContent, never as HTML.
"use strict";

const state = { info: null, result: null, editWord: null, attention: null };
const DEFAULT_METHODS = ["grad_x_input", "occlusion"];

function $(id) { return document.getElementById(id); }

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function fmt(value, digits = 4) {
  return value === null || value === undefined ? "—" : Number(value).toPrecision(digits);
}

function setStatus(message, error = false) {
  $("status").textContent = message;
  $("status").className = error ? "error" : "";
}

async function api(path, body, method = "POST") {
  const options = body === undefined ? { method } : {
    method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  const type = response.headers.get("Content-Type") || "";
  return type.includes("application/json") && !response.headers.get("Content-Disposition")
    ? response.json() : response.blob();
}

async function guarded(what, job) {
  setStatus(what + "…");
  try { await job(); setStatus(""); } catch (error) { setStatus(error.message, true); }
}

// ----- input: text, pair, target, methods and their settings --------------------------------------------------
function settingInput(name, schema) {
  // a choice among fixed values is a select whose first option keeps the method's default; anything else is typed
  const options = schema.enum || (schema.anyOf || []).flatMap(s => s.enum || (s.const !== undefined ? [s.const] : []));
  const typed = (schema.anyOf || []).some(s => s.type === "integer" || s.type === "number");
  const shownDefault = `default: ${JSON.stringify(schema.default ?? null)}`;
  if (options.length && !typed) {
    const select = el("select", { "data-setting": name }, [el("option", { text: shownDefault, value: "" })]);
    for (const option of options) select.append(el("option", { text: String(option), value: JSON.stringify(option) }));
    return select;
  }
  return el("input", { "data-setting": name, placeholder: shownDefault });
}

function buildMethods(methods) {
  const box = $("methods");
  for (const [name, method] of Object.entries(methods)) {
    const settings = el("div", { class: "settings" });
    const props = method.settings.properties || {};
    for (const [key, schema] of Object.entries(props)) {
      settings.append(el("label", { text: key }), settingInput(key, schema));
    }
    const check = el("input", { type: "checkbox", value: name, id: "method-" + name });
    const card = el("div", { class: "method", title: method.doc }, [check, el("label", { for: check.id, text: name }), settings]);
    check.addEventListener("change", () => card.classList.toggle("on", check.checked));
    if (DEFAULT_METHODS.includes(name)) { check.checked = true; card.classList.add("on"); }
    box.append(card);
  }
}

function parseSetting(raw) {
  try { return JSON.parse(raw); } catch (_) { return raw; }  // a bare word is a string setting
}

function chosenMethods() {
  const methods = {};
  for (const card of document.querySelectorAll("#methods .method.on")) {
    const settings = {};
    for (const input of card.querySelectorAll("[data-setting]")) {
      if (input.value.trim() !== "") settings[input.dataset.setting] = parseSetting(input.value.trim());
    }
    methods[card.querySelector("input[type=checkbox]").value] = settings;
  }
  return methods;
}

function request(extra = {}) {
  const pair = $("pair").value.trim();
  return { text: $("text").value, pair: pair || null, target: $("target").value || null, methods: chosenMethods(), ...extra };
}

// ----- explanations: heatmap rows, token/word level, comparison, downloads --------------------------------------
function level() { return document.querySelector("input[name=level]:checked").value; }

function heatmapRows(result, container) {
  container.replaceChildren(el("div", { class: "conv view-legend", text: result.legends[level()] }));
  for (const e of result.explanations) {
    const cells = el("div", { class: "cells" });
    for (const cell of e.views[level()]) {
      const span = el("span", { class: "tok" + (cell.space ? " space" : "") + (cell.light ? " light" : "") + (cell.special ? " special" : ""),
                                text: cell.text, title: `${cell.text}: ${cell.score >= 0 ? "+" : ""}${cell.score.toPrecision(6)}` });
      span.style.background = cell.color;
      cells.append(span);
    }
    const how = ` · full colour at |score| = ${fmt(e.full_colour[level()], 3)}`;
    const name = el("strong", { class: "method", text: e.method });
    name.style.borderLeftColor = e.style.color;  // one fixed colour per method (faithlab.report.METHOD_STYLES)
    const label = el("div", { class: "label" }, [
      name, el("br"),
      el("span", { text: `${e.target_name} (${(e.probabilities[e.target_name] * 100).toFixed(1)}%)` }), el("br"),
      el("span", { class: "conv", text: e.conventions + how }),
    ]);
    container.append(el("div", { class: "row", "data-method": e.method }, [label, cells]));
  }
}

function predictionLine(prediction) {
  const parts = Object.entries(prediction.probabilities).map(([k, p]) => `${k} ${(p * 100).toFixed(1)}%`);
  return `prediction: ${prediction.label} (${parts.join(", ")})`;
}

function renderExplain() {
  const result = state.result;
  if (!result) return;
  $("prediction").textContent = predictionLine(result.prediction) + (result.cached.length ? ` · from cache: ${result.cached.join(", ")}` : "");
  heatmapRows(result, $("heatmap"));
  for (const id of ["compare-a", "compare-b"]) {
    const select = $(id), previous = select.value;
    select.replaceChildren(...result.explanations.map(e => el("option", { text: e.method, value: e.method })));
    if (previous) select.value = previous;
  }
  if (!$("compare-b").value || $("compare-a").value === $("compare-b").value) $("compare-b").selectedIndex = Math.min(1, result.explanations.length - 1);
  compare();
}

function ranks(values) {
  const order = values.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const out = new Array(values.length);
  for (let i = 0; i < order.length;) {
    let j = i; while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) out[order[k][1]] = (i + j) / 2;
    i = j + 1;
  }
  return out;
}

function spearman(a, b) {
  const ra = ranks(a), rb = ranks(b), n = a.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n, mb = rb.reduce((s, v) => s + v, 0) / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) ** 2; db += (rb[i] - mb) ** 2; }
  return da && db ? num / Math.sqrt(da * db) : null;
}

function compare() {
  const result = state.result, a = $("compare-a").value, b = $("compare-b").value;
  if (!result || !a || !b || a === b) { $("compare-result").textContent = ""; return; }
  const byName = Object.fromEntries(result.explanations.map(e => [e.method, e.views.words.map(c => c.score)]));
  const rho = spearman(byName[a], byName[b]);
  $("compare-result").textContent = `Spearman of word scores: ${fmt(rho, 3)}`;
}

function viewQuery() {
  return new URLSearchParams({ show_special: $("show-special").checked, aggregation: $("aggregation").value, scale: $("scale").value });
}

async function runExplain() {
  await guarded("explaining", async () => {
    state.result = await api(`/api/explain?${viewQuery()}`, request());
    renderExplain();
    buildEditWords();
  });
}

function download(blob, name) {
  const link = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link); link.click(); link.remove();
}

function heatmapSvg() {
  const result = state.result, rowHeight = 26, labelWidth = 150, charWidth = 8;
  let y = 20;
  const parts = [];
  for (const e of result.explanations) {
    let x = labelWidth;
    parts.push(`<text x="4" y="${y + 16}" font-size="12">${escapeXml(e.method)}</text>`);
    for (const cell of e.views[level()]) {
      const w = Math.max(14, cell.text.length * charWidth + 6);
      parts.push(`<rect x="${x}" y="${y}" width="${w}" height="22" fill="${cell.color}"><title>${escapeXml(cell.text)}: ${cell.score}</title></rect>`);
      parts.push(`<text x="${x + 3}" y="${y + 16}" font-size="12" fill="${cell.light ? "#fff" : "#000"}">${escapeXml(cell.text)}</text>`);
      x += w + 2;
    }
    y += rowHeight;
  }
  const width = 900;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="#fff"/><text x="4" y="14" font-size="11">${escapeXml(predictionLine(result.prediction))}</text>${parts.join("")}</svg>`;
}

function escapeXml(text) {
  return String(text).replace(/[<>&"']/g, c => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]);
}

function downloadPng() {
  const svg = heatmapSvg();
  const image = new Image();
  image.onload = () => {
    const canvas = el("canvas");
    canvas.width = image.width; canvas.height = image.height;
    canvas.getContext("2d").drawImage(image, 0, 0);
    canvas.toBlob(blob => download(blob, "heatmap.png"));
  };
  image.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
}

// ----- faithfulness ----------------------------------------------------------------------------------------------
async function runFaithfulness() {
  await guarded("measuring faithfulness", async () => {
    const data = await api("/api/faithfulness", request());
    const metrics = Object.keys(data.better);
    const head = el("tr", {}, [el("th", { class: "text", text: "method" }),
      ...metrics.map(m => el("th", { text: `${m} (${data.better[m]} is better)` })), el("th", { text: "average rank" })]);
    const rows = Object.entries(data.metrics).map(([method, values]) => el("tr", { class: method === data.trusted ? "trusted" : "" }, [
      el("td", { class: "text", text: method }),
      ...metrics.map(m => el("td", { text: fmt(values[m]) + (data.ranks[method] ? ` (#${data.ranks[method][m]})` : "") })),
      el("td", { text: data.average_rank[method] === undefined ? "baseline" : data.average_rank[method].toFixed(2) + (data.beats_random[method] ? "" : " (does not beat random)") }),
    ]));
    const verdict = data.trusted ? `Trust ${data.trusted} for this text.` : "No method to trust on this text: none beats the random baseline on every metric.";
    $("faith-result").replaceChildren(el("p", {}, [el("strong", { text: verdict }), " " + data.rule + "."]), el("table", {}, [head, ...rows]));
    $("curves").replaceChildren(...curvesView(data.curves));
  });
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

// MoRF solid, LeRF dashed, one fixed colour per method; the table gives each curve's area and sharp/gradual label
function curvesView(curves) {
  const width = 520, height = 240, pad = 30;
  const plot = svg("svg", { id: "curves-plot", width, height, viewBox: `0 0 ${width} ${height}` });
  plot.append(svg("line", { x1: pad, y1: height - pad, x2: width - 5, y2: height - pad, stroke: "#888" }),
              svg("line", { x1: pad, y1: 5, x2: pad, y2: height - pad, stroke: "#888" }));
  const axis = svg("text", { x: pad, y: height - 8, "font-size": 11 });
  axis.textContent = "x: fraction of tokens removed (0 to 1) · y: confidence of the predicted class (0 to 1)";
  plot.append(axis);
  const colour = method => state.info.styles[method]?.color || "#444";
  for (const c of curves.rows) {
    const points = c.x.map((x, i) => `${pad + x * (width - pad - 5)},${height - pad - c.confidence[i] * (height - pad - 5)}`).join(" ");
    const line = svg("polyline", { points, fill: "none", stroke: colour(c.method), "stroke-width": 2, "data-method": c.method, "data-curve": c.curve });
    if (c.curve === "lerf") line.setAttribute("stroke-dasharray", "5 3");
    plot.append(line);
  }
  const head = el("tr", {}, ["method", "curve", "area", "label"].map(t => el("th", { class: "text", text: t })));
  const rows = curves.rows.map(c => el("tr", {}, [el("td", { class: "text", text: c.method }), el("td", { class: "text", text: c.curve.toUpperCase() }),
    el("td", { text: fmt(c.area, 3) }), el("td", { class: "text", text: c.label })]));
  return [el("h3", { text: "MoRF (solid) and LeRF (dashed) curves" }), plot,
          el("p", { class: "conv", text: `label rule: ${curves.rule}` }), el("table", { id: "curves-table" }, [head, ...rows])];
}

// ----- attention -------------------------------------------------------------------------------------------------
// shades are scaled to each matrix's largest weight, so a nearly uniform head is still readable (values on hover)
function attentionShade(value, largest) {
  const shade = Math.round(255 * (1 - (largest > 0 ? value / largest : 0)));
  return `rgb(${shade},${shade},255)`;
}

function largest(matrix) { return Math.max(...matrix.map(row => Math.max(...row))); }

function drawMatrix(canvas, matrix) {
  const n = matrix.length, size = canvas.width / n, context = canvas.getContext("2d"), top = largest(matrix);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    context.fillStyle = attentionShade(matrix[i][j], top);
    context.fillRect(j * size, i * size, size, size);
  }
}

async function runAttention(layer = 0, head = 0) {
  await guarded("reading attention", async () => {
    const data = await api("/api/attention", { text: $("text").value, pair: $("pair").value.trim() || null, layer, head });
    state.attention = data;
    const grid = $("attention-grid");
    if (data.grid) {
      const rows = data.grid.map((heads, l) => el("tr", {}, [el("th", { text: `layer ${l}` }), ...heads.map((matrix, h) => {
        const canvas = el("canvas", { width: 60, height: 60, title: `layer ${l}, head ${h}`, "data-layer": l, "data-head": h,
                                      class: l === layer && h === head ? "chosen" : "" });
        drawMatrix(canvas, matrix);
        canvas.addEventListener("click", () => runAttention(l, h));
        return el("td", {}, [canvas]);
      })]));
      grid.replaceChildren(el("table", {}, [el("tr", {}, [el("th"), ...data.grid[0].map((_, h) => el("th", { text: `head ${h}` }))]), ...rows]));
    } else {
      grid.replaceChildren(el("p", { text: `The text has more than ${state.info.limits.grid_tokens} tokens: pick a layer and head.` }), headPicker(data));
    }
    $("attention-head").replaceChildren(headMatrix(data));
    $("attention-summary").replaceChildren(
      matrixTable(`Layer ${data.layer}, mean over heads`, "average-matrix", data.tokens, data.average),
      matrixTable("Rollout (every layer, residual included)", "rollout-matrix", data.tokens, data.rollout),
      el("h3", { text: `Top ${data.top.length} tokens by attention received (all layers and heads; specials and punctuation left out)` }),
      el("table", { id: "attention-top" }, [el("tr", {}, ["position", "token", "received"].map(t => el("th", { class: "text", text: t }))),
        ...data.top.map(r => el("tr", {}, [el("td", { text: String(r.position) }), el("td", { class: "text", text: r.token }), el("td", { text: fmt(r.received, 3) })]))]));
  });
}

function matrixTable(title, id, tokens, matrix) {
  const top = largest(matrix);
  const header = el("tr", {}, [el("th"), ...tokens.map(t => el("th", { class: "col", text: t }))]);
  const rows = matrix.map((values, i) => el("tr", {}, [el("th", { class: "text", text: tokens[i] }), ...values.map((v, j) => {
    const cell = el("td", { title: `${tokens[i]} → ${tokens[j]}: ${v}` });
    cell.style.background = attentionShade(v, top);
    return cell;
  })]));
  return el("div", {}, [el("h3", { text: title }), el("table", { class: "matrix", id }, [header, ...rows])]);
}

function headPicker(data) {
  const layer = el("select", { id: "att-layer" }, [...Array(data.layers).keys()].map(l => el("option", { text: `layer ${l}`, value: l })));
  const head = el("select", { id: "att-head" }, [...Array(data.heads).keys()].map(h => el("option", { text: `head ${h}`, value: h })));
  layer.value = data.layer; head.value = data.head;
  const go = el("button", { type: "button", text: "open", on: { click: () => runAttention(Number(layer.value), Number(head.value)) } });
  return el("div", { class: "controls" }, [layer, head, go]);
}

function headMatrix(data) {
  const top = largest(data.matrix);
  const header = el("tr", {}, [el("th"), ...data.tokens.map(t => el("th", { class: "col", text: t }))]);
  const rows = data.matrix.map((values, i) => el("tr", {}, [el("th", { class: "text", text: data.tokens[i] }), ...values.map((v, j) => {
    const cell = el("td", { title: `${data.tokens[i]} → ${data.tokens[j]}: ${v}` });
    cell.style.background = attentionShade(v, top);
    return cell;
  })]));
  return el("div", {}, [el("h3", { text: `Layer ${data.layer}, head ${data.head} (rows attend to columns)` }),
    el("p", { text: `Darkest = the largest weight, ${top.toFixed(3)}; each weight on hover.` }),
    el("table", { class: "matrix", id: "head-matrix" }, [header, ...rows])]);
}

// ----- deletion table --------------------------------------------------------------------------------------------
function deletionRequest() {
  return { text: $("text").value, pair: $("pair").value.trim() || null, target: $("target").value || null,
           output: $("del-output").value, unit: $("del-unit").value, contrast: $("del-contrast").value || null };
}

async function runDeletion() {
  await guarded("deleting each word", async () => {
    const data = await api("/api/deletion", deletionRequest());
    const labels = data.rows.length ? Object.keys(data.rows[0].probabilities_after) : [];
    const head = el("tr", {}, [el("th", { class: "text", text: data.unit }), el("th", { text: "output before" }),
      el("th", { text: "output after" }), el("th", { text: "difference" }), el("th", { class: "text", text: "new prediction" }),
      ...labels.map(l => el("th", { text: `p(${l}) after` }))]);
    const rows = data.rows.map(r => el("tr", {}, [el("td", { class: "text", text: r.unit }), el("td", { text: fmt(r.output_before) }),
      el("td", { text: fmt(r.output_after) }), el("td", { text: fmt(r.difference) }), el("td", { class: "text", text: r.predicted_after }),
      ...labels.map(l => el("td", { text: fmt(r.probabilities_after[l], 3) }))]));
    const contrast = data.contrast ? ` against ${data.contrast}` : "";
    $("deletion-result").replaceChildren(
      el("p", { text: `${predictionLine(data.prediction)} · output: ${data.output} of ${data.target_name}${contrast}` }),
      el("p", { class: "conv", text: data.quantity }),
      el("table", { id: "deletion-table" }, [head, ...rows]));
  });
}

// ----- edit and compare ------------------------------------------------------------------------------------------
function buildEditWords() {
  const words = $("text").value.split(/\s+/).filter(Boolean);
  state.editWord = null;
  $("edit-words").replaceChildren(...words.map((w, i) => el("button", { type: "button", text: w, "data-word": i, on: { click: event => {
    state.editWord = i;
    document.querySelectorAll("#edit-words button").forEach(b => b.classList.toggle("chosen", b === event.target));
  } } })));
}

async function runEdit(replace) {
  if (state.editWord === null) { setStatus("click a word first", true); return; }
  await guarded("explaining the edited text", async () => {
    const replacement = replace ? $("edit-replacement").value : null;
    const data = await api(`/api/edit?${viewQuery()}`, request({ word: state.editWord, replacement }));
    const side = (title, result) => {
      const box = el("div", { class: "heatmap" });
      heatmapRows(result, box);
      return el("div", {}, [el("h3", { text: `${title}: ${result.text}` }), el("p", { text: predictionLine(result.prediction) }), box]);
    };
    $("edit-result").replaceChildren(side("original", data.original), side("edited", data.edited));
  });
}

// ----- bench run -------------------------------------------------------------------------------------------------
function runQuery() {
  const params = new URLSearchParams();
  for (const select of document.querySelectorAll("#run-filters select")) if (select.value) params.set(select.dataset.filter, select.value);
  return params;
}

async function loadLeaderboard() {
  await guarded("loading the leaderboard", async () => {
    const data = await api(`/api/run/leaderboard?${runQuery()}`, undefined, "GET");
    const columns = ["model", "dataset", "metric", "method", "mean", "n"];
    const head = el("tr", {}, columns.map(c => el("th", { class: "text", text: c })));
    const rows = data.rows.map(r => el("tr", { class: "clickable", on: { click: () => loadExamples(r) } },
      columns.map(c => el("td", { class: "text", text: c === "mean" ? `${fmt(r.mean)} (${r.higher_is_better ? "higher" : "lower"} is better)` : String(r[c]) }))));
    $("leaderboard").replaceChildren(el("table", { id: "leaderboard-table" }, [head, ...rows]));
  });
}

async function loadExamples(row) {
  await guarded("loading examples", async () => {
    const params = new URLSearchParams({ model: row.model, dataset: row.dataset, method: row.method, metric: row.metric });
    const data = await api(`/api/run/examples?${params}`, undefined, "GET");
    const rows = data.rows.map(r => el("tr", { class: "clickable", on: { click: () => openExample(row.dataset, r.example) } },
      [el("td", { text: String(r.example) }), el("td", { text: fmt(r.value) })]));
    $("run-examples").replaceChildren(el("h3", { text: `${row.method} · ${row.metric} on ${row.dataset} (${row.model}): click an example to open its views` }),
      el("table", {}, [el("tr", {}, [el("th", { text: "example" }), el("th", { text: row.metric })]), ...rows]));
  });
}

async function openExample(dataset, example) {
  await guarded("opening the example", async () => {
    const data = await api(`/api/run/example?${new URLSearchParams({ dataset, example })}`, undefined, "GET");
    $("text").value = data.text; $("pair").value = data.pair || "";
    showTab("explain");
    await runExplain();
  });
}

async function setupRun() {
  const filters = await api("/api/run/filters", undefined, "GET");
  $("tab-leaderboard").hidden = false;
  if (state.info.verdict) $("verdict").replaceChildren(...verdictView((await api("/api/run/verdict", undefined, "GET")).verdicts));
  for (const [name, values] of Object.entries(filters)) {
    const select = el("select", { "data-filter": name, id: `filter-${name}` }, [el("option", { text: `any ${name}`, value: "" }), ...values.map(v => el("option", { text: v, value: v }))]);
    select.addEventListener("change", loadLeaderboard);
    $("run-filters").append(el("label", { for: select.id, text: name }), select);
  }
}

// the run's verdict per model and data set: leader, tied top set, evidence per metric, summary
function verdictView(verdicts) {
  const parts = [el("h3", { text: "Verdict: which method to trust" })];
  for (const v of verdicts) {
    const head = el("tr", {}, ["metric", "better", "top set", "leader's mean [95% interval]"].map(t => el("th", { class: "text", text: t })));
    const rows = v.evidence.map(e => {
      const first = e.means[e.top[0]];
      return el("tr", {}, [el("td", { class: "text", text: e.metric }), el("td", { class: "text", text: e.higher_is_better ? "higher" : "lower" }),
        el("td", { class: "text", text: e.top.join(", ") }),
        el("td", { text: first ? `${fmt(first.mean, 3)} [${fmt(first.low, 3)}, ${fmt(first.high, 3)}]` : "" })]);
    });
    parts.push(el("div", { class: "verdict", "data-model": v.model, "data-dataset": v.dataset }, [
      el("p", {}, [el("strong", { text: `${v.model} · ${v.dataset}: leader ${v.leader ?? "none"}` }),
        ` · tied top set: ${v.best.join(", ") || "none"}`]),
      el("p", { class: "summary", text: v.summary }),
      el("table", { class: "verdict-evidence" }, [head, ...rows])]));
  }
  return parts;
}

// ----- tabs and start-up -----------------------------------------------------------------------------------------
function showTab(name) {
  for (const button of document.querySelectorAll("#tabs button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const section of document.querySelectorAll("section.tab")) section.hidden = section.id !== `tab-${name}`;
  if (name === "leaderboard" && !$("leaderboard").childElementCount) loadLeaderboard();
}

async function start() {
  state.info = await api("/api/info", undefined, "GET");
  $("model-info").textContent = `model: ${state.info.model} · classes: ${state.info.labels.join(", ")}`;
  for (const label of state.info.labels) {
    $("target").append(el("option", { text: label, value: label }));
    $("del-contrast").append(el("option", { text: label, value: label }));
  }
  buildMethods(state.info.methods);
  if (state.info.run) await setupRun();
  document.querySelectorAll("#tabs button").forEach(b => b.addEventListener("click", () => showTab(b.dataset.tab)));
  $("run").addEventListener("click", runExplain);
  document.querySelectorAll("input[name=level]").forEach(r => r.addEventListener("change", renderExplain));
  $("show-special").addEventListener("change", runExplain);
  $("aggregation").addEventListener("change", runExplain);
  $("scale").addEventListener("change", runExplain);
  $("compare-a").addEventListener("change", compare);
  $("compare-b").addEventListener("change", compare);
  $("text").addEventListener("change", buildEditWords);
  $("dl-json").addEventListener("click", () => guarded("downloading", async () => download(await api("/api/explain/download?format=json", request()), "explanations.json")));
  $("dl-html").addEventListener("click", () => guarded("downloading", async () => download(await api("/api/explain/download?format=html", request()), "explanations.html")));
  $("dl-svg").addEventListener("click", () => state.result && download(new Blob([heatmapSvg()], { type: "image/svg+xml" }), "heatmap.svg"));
  $("dl-png").addEventListener("click", () => state.result && downloadPng());
  $("run-faith").addEventListener("click", runFaithfulness);
  $("run-attention").addEventListener("click", () => runAttention(0, 0));
  $("run-deletion").addEventListener("click", runDeletion);
  $("dl-deletion").addEventListener("click", () => guarded("downloading", async () => download(await api("/api/deletion?format=csv", deletionRequest()), "deletion.csv")));
  $("dl-leaderboard").addEventListener("click", () => guarded("downloading", async () => download(await api(`/api/run/leaderboard?format=csv&${runQuery()}`, undefined, "GET"), "leaderboard.csv")));
  $("edit-replace").addEventListener("click", () => runEdit(true));
  $("edit-delete").addEventListener("click", () => runEdit(false));
  $("text").value = $("text").value || "the movie was great and fun to watch";
  setStatus("ready");
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", () => start().catch(error => setStatus(error.message, true)));
