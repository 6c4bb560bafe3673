// cnncalc's page: plain JavaScript, no framework. Every figure comes from the server's JSON API (the same calls as
// the `cnncalc` command); text from the server is only ever put in the page as text, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const els = {
    spec: $("spec"), gutter: $("gutter"), errband: $("errband"), selband: $("selband"), status: $("status"),
    zoo: $("zoo"), zooOptions: $("zoo-options"), bias: $("bias"), strict: $("strict"), layout: $("layout"),
    input: $("input"), title: $("title"), totals: $("totals"), rows: $("rows"), foot: $("foot"), notes: $("notes"),
    results: $("results-card"), total: $("total"), of: $("of"), answers: $("answers"), check: $("check"),
    verdict: $("verdict"), share: $("share"), shareLink: $("share-link"), shareStatus: $("share-status"),
    downloads: $("downloads"), downloadStatus: $("download-status"), diagram: $("diagram"), version: $("version"),
    memBatch: $("mem-batch"), memOptimizer: $("mem-optimizer"), memAmp: $("mem-amp"), memory: $("memory"),
    memoryOut: $("memory-out"),
  };

  const EXAMPLE = [
    "# A small network: edit it, or pick a zoo model above",
    "input 32x32x3",
    "conv1: conv 16 k=3 p=1",
    "relu",
    "pool1: maxpool k=2",
    "conv2: conv 32 k=3 p=1",
    "relu",
    "gap",
    "fc 10",
    "",
  ].join("\n");

  const state = {
    seq: 0, // report requests sent; only the answer to the last one is shown
    report: null,
    worked: null,
    lines: {},
    selected: null, // the layer whose worked steps are open
    errorLine: null,
    zooName: "", // the zoo model the editor holds, while its text is unchanged
    zooSpec: "",
    zooOptions: "",
    zooList: [],
    drawSeq: 0,
    drawUrl: null,
    zoom: null, // the diagram's: null fits the card's width
    lastKey: 0, // when the spec or the input was last typed in
    gutterLines: 0,
  };

  // ------------------------------------------------------------------------------------------------- helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const int = (n) => (n === null || n === undefined ? "?" : Number(n).toLocaleString("en-US"));

  function human(n) {
    for (const [unit, size] of [["G", 1e9], ["M", 1e6], ["k", 1e3]]) {
      if (n >= size) return (n / size).toFixed(2) + unit;
    }
    return String(n);
  }

  function bytes(n) {
    for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]]) {
      if (n >= size) return (n / size).toFixed(1) + " " + unit;
    }
    return n + " B";
  }

  const pct = (part, whole) => (part && whole ? ((100 * part) / whole).toFixed(1) + "%" : "");
  const num = (v) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6))));

  function rfText(rf) {
    if (!rf) return "";
    if (rf.global) return "global";
    if (rf.size_w === undefined) return `${num(rf.size)}/${num(rf.jump)}`;
    return `${num(rf.size)}x${num(rf.size_w)}/${num(rf.jump)}x${num(rf.jump_w)}`;
  }

  // A button's request: the button off and a note in its output while the server works, then the answer rendered
  // (or why there is none).
  async function askWith(button, out, waiting, url, body, render) {
    button.disabled = true;
    out.replaceChildren(el("p", "small", waiting));
    try {
      const { data } = await postJSON(url, body);
      render(data);
    } catch (e) {
      render({ error: `cannot reach the server (${e.message})` });
    } finally {
      button.disabled = false;
    }
  }

  async function postJSON(url, body, signal) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = { error: `the server answered ${res.status} ${res.statusText}` };
    }
    return { res, data };
  }

  // The model's name: the spec's first line when it is a one-word comment (`# vgg16`, as zoo specs start).
  function specName(text) {
    const first = text.split("\n").find((line) => line.trim() !== "");
    const m = first && /^\s*#\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*$/.exec(first);
    return m ? m[1] : null;
  }

  function request() {
    const body = { spec: els.spec.value, bias: els.bias.checked, strict: els.strict.checked, layout: els.layout.value };
    const name = specName(els.spec.value);
    if (name) body.name = name;
    const input = els.input.value.trim();
    if (input) body.input = input;
    return body;
  }

  // ------------------------------------------------------------------------------------------------- the editor

  // The editor's line height and top padding, read once (and again on resize): reading a computed style forces a
  // layout of the whole page, which with a table of hundreds of rows made every keystroke slow.
  let metrics = null;

  function editorMetrics() {
    if (!metrics) {
      const style = getComputedStyle(els.spec);
      metrics = { lineHeight: parseFloat(style.lineHeight) || 20, top: parseFloat(style.paddingTop) || 0 };
    }
    return metrics;
  }

  function lineHeight() {
    return editorMetrics().lineHeight;
  }

  function lineCount() {
    let n = 1;
    const text = els.spec.value;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
    return n;
  }

  function renderGutter() {
    const n = lineCount();
    if (n !== state.gutterLines) {
      const frag = document.createDocumentFragment();
      for (let i = 1; i <= n; i++) {
        const d = el("div", "", i);
        d.dataset.line = i;
        frag.append(d);
      }
      frag.append(el("div", "spacer")); // room for the editor's own scroll bar
      els.gutter.replaceChildren(frag);
      state.gutterLines = n;
    }
    for (const d of els.gutter.querySelectorAll(".err, .sel")) d.classList.remove("err", "sel");
    const selLine = state.selected ? state.lines[state.selected] : null;
    if (selLine && els.gutter.children[selLine - 1]) els.gutter.children[selLine - 1].classList.add("sel");
    if (state.errorLine && els.gutter.children[state.errorLine - 1]) {
      els.gutter.children[state.errorLine - 1].classList.add("err");
    }
    placeBands();
  }

  // Bands and the gutter follow the editor's scroll once a frame: reading scrollTop between two changes to the page
  // forces a layout of all of it, which a table of hundreds of rows makes slow.
  let bandsFrame = 0;

  function placeBands() {
    if (!bandsFrame) {
      bandsFrame = requestAnimationFrame(() => {
        bandsFrame = 0;
        placeBandsNow();
      });
    }
  }

  function placeBandsNow() {
    const { lineHeight: lh, top } = editorMetrics();
    const scroll = els.spec.scrollTop;
    els.gutter.scrollTop = scroll;
    const selLine = state.selected ? state.lines[state.selected] : null;
    for (const [band, line] of [[els.errband, state.errorLine], [els.selband, selLine]]) {
      band.hidden = !line;
      if (line) band.style.top = `${top + (line - 1) * lh - scroll}px`;
    }
  }

  function goToLine(line, focus = true) {
    const lines = els.spec.value.split("\n");
    if (line < 1 || line > lines.length) return;
    let start = 0;
    for (let i = 0; i < line - 1; i++) start += lines[i].length + 1;
    const lh = lineHeight();
    const want = (line - 1) * lh;
    if (want < els.spec.scrollTop || want > els.spec.scrollTop + els.spec.clientHeight - 2 * lh) {
      els.spec.scrollTop = Math.max(0, want - els.spec.clientHeight / 3);
    }
    if (focus) {
      els.spec.focus({ preventScroll: true });
      els.spec.setSelectionRange(start, start + lines[line - 1].length);
    }
    placeBands();
  }

  function setSpec(text) {
    els.spec.value = text;
    els.spec.scrollTop = 0;
    state.errorLine = null;
    renderGutter();
  }

  // ------------------------------------------------------------------------------------------------- the report

  let timer = null;
  let inflight = null;

  function schedule(delay = 250) {
    clearTimeout(timer);
    timer = setTimeout(runReport, delay);
  }

  async function runReport() {
    clearTimeout(timer);
    const seq = ++state.seq;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    const slow = setTimeout(() => {
      if (seq === state.seq) setStatus("busy", "working it out…");
    }, 400);
    let answer;
    const body = request();
    try {
      answer = await postJSON("/api/report", { ...body, steps: true }, inflight.signal);
    } catch (e) {
      clearTimeout(slow);
      if (seq === state.seq && e.name !== "AbortError") showError({ error: `cannot reach the server (${e.message})` });
      return;
    }
    clearTimeout(slow);
    if (seq !== state.seq) return; // a newer request is on its way
    if (!answer.res.ok) {
      showError(answer.data);
      return;
    }
    showReport(answer.data);
    scheduleDraw(body);
  }

  function setStatus(kind, text) {
    els.status.className = "status " + kind;
    els.status.replaceChildren(text);
  }

  function showError(data) {
    state.errorLine = data.line || null;
    els.status.className = "status error";
    const parts = [];
    if (data.line) {
      const where = el("span", "where", `line ${data.line}`);
      where.title = "go to the line";
      where.addEventListener("click", () => goToLine(data.line));
      parts.push(where, ": ");
    }
    if (data.layer) parts.push(`${data.layer}: `);
    parts.push(data.error || "error");
    els.status.replaceChildren(...parts);
    els.results.classList.add("stale");
    if (state.report) els.title.textContent = `${state.report.model}: the last spec that worked`;
    renderGutter();
  }

  function showReport(data) {
    state.report = data;
    state.worked = data.worked || null;
    state.lines = data.lines || {};
    state.errorLine = null;
    if (state.selected && !data.layers.some((x) => x.name === state.selected)) state.selected = null;
    els.results.classList.remove("stale");
    const t = data.totals;
    const warnings = data.layers.reduce((n, x) => n + x.warnings.length, 0);
    setStatus(
      "ok",
      `${data.model}: ${data.layers.length} layers, ${int(t.params)} params, ${int(t.macs)} MACs` +
        (warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""}: see ⚠)` : ""),
    );
    const inputs = data.inputs.map((x) => (data.inputs.length > 1 ? `${x.name} ` : "") + x.shape.join("x"));
    els.title.textContent = `${data.model}: ${inputs.join(", ")}`;
    renderTotals(data);
    renderTable(data);
    renderNotes(data);
    renderGutter();
  }

  function stat(label, value, sub) {
    const box = el("div", "stat");
    const figure = el("div", "value");
    String(value).split(",").forEach((part, i) => {
      if (i) figure.append(",", document.createElement("wbr"));
      figure.append(part);
    });
    box.append(el("div", "label", label), figure, el("div", "sub", sub));
    return box;
  }

  function renderTotals(data) {
    const t = data.totals;
    els.totals.replaceChildren(
      stat("params", int(t.params), `weights ${int(t.weights)} + biases ${int(t.biases)}` + bufferText(t)),
      stat("MACs", int(t.macs), human(t.macs) + (data.unknown_macs ? " (some unknown)" : "")),
      stat("FLOPs", int(t.flops), human(t.flops) + " = 2 × MACs"),
      // The sum of every output is not memory needed at once: the inference peak (most outputs alive together,
      // layers run in order) is, and `cnncalc memory --training` gives what training keeps.
      stat(
        "inference peak",
        bytes(t.inference_peak_bytes),
        `${int(t.inference_peak_bytes)} bytes alive at once, batch 1; ` +
          `all outputs add up to ${bytes(t.activation_bytes)} (never all held)`,
      ),
    );
  }

  // Buffers by what they are: running statistics, other buffers, and fixed tables (in neither count).
  function bufferText(t) {
    let text = "";
    if (t.buffers) {
      text = `; buffers ${int(t.buffers)}`;
      if (t.other_buffers) {
        text += ` (running statistics ${int(t.running_statistics || 0)}, other ${int(t.other_buffers)})`;
      }
    }
    if (t.fixed_tables) text += `; fixed tables ${int(t.fixed_tables)} values, not counted`;
    return text;
  }

  function cell(row, text, className) {
    row.append(el("td", className, text));
  }

  // The rows of the last table by layer name, with what they showed: a row that shows the same is kept, so typing
  // in a network of hundreds of layers rebuilds only the rows that changed.
  let rowCache = new Map();

  function renderTable(data) {
    const t = data.totals;
    const frag = document.createDocumentFragment();
    const cache = new Map();
    for (const x of data.layers) {
      const key = JSON.stringify(x) + `|${t.params}|${t.macs}|${x.name === state.selected}`;
      const kept = rowCache.get(x.name);
      if (kept && kept.key === key && x.name !== state.selected) {
        cache.set(x.name, kept);
        frag.append(kept.tr);
        continue;
      }
      const tr = el("tr");
      cache.set(x.name, { key, tr });
      tr.dataset.name = x.name;
      if (x.warnings.length) tr.classList.add("warned");
      if (x.training_only) tr.classList.add("aux");
      if (x.name === state.selected) tr.classList.add("selected");
      cell(tr, x.name);
      cell(tr, x.op, "op");
      cell(tr, x.output_shape.join("x"));
      cell(tr, x.params ? int(x.params) : "", "num");
      cell(tr, pct(x.params, t.params), "num pct");
      cell(tr, x.macs === null ? "?" : x.macs ? int(x.macs) : "", "num");
      cell(tr, pct(x.macs || 0, t.macs), "num pct");
      cell(tr, bytes(x.activation_bytes), "num");
      cell(tr, rfText(x.rf));
      frag.append(tr);
      if (x.name === state.selected) frag.append(workedRow(x));
    }
    rowCache = cache;
    els.rows.replaceChildren(frag);
    const foot = el("tr");
    for (const [text, cls] of [["total"], ["", "op"], [""], [int(t.params), "num"], ["", "num pct"], [int(t.macs), "num"],
      ["", "num pct"], [bytes(t.activation_bytes), "num"], [""]]) cell(foot, text, cls);
    els.foot.replaceChildren(foot);
  }

  function workedRow(layer) {
    const tr = el("tr", "worked");
    const td = el("td");
    td.colSpan = 9;
    const lines = (state.worked && state.worked.layers[layer.name]) || [`${layer.name} (${layer.op})`];
    const pre = el("pre");
    for (const line of lines) {
      const isWarning = line.trim().startsWith("warning:");
      pre.append(isWarning ? el("span", "warning", line) : line, "\n");
    }
    td.append(pre);
    const line = state.lines[layer.name];
    if (line) {
      const go = el("span", "", `spec line ${line}`);
      const link = el("a", "", "show it in the spec");
      link.href = "#";
      link.addEventListener("click", (e) => {
        e.preventDefault();
        goToLine(line);
      });
      const p = el("p", "small");
      p.append(go, " · ", link);
      td.append(p);
    }
    tr.append(td);
    return tr;
  }

  function toggleLayer(name) {
    state.selected = state.selected === name ? null : name;
    if (state.report) renderTable(state.report);
    renderGutter();
    const line = state.selected ? state.lines[state.selected] : null;
    if (line) goToLine(line, false);
  }

  function renderNotes(data) {
    const items = [];
    for (const x of data.layers) for (const w of x.warnings) items.push([`${x.name}: ${w}`, "warning"]);
    if (data.training_only) {
      const a = data.training_only;
      items.push([`* training only: ${a.layers} layers add ${int(a.params)} params (counted) and ` +
        `${int(a.macs)} MACs (not in the inference total)`]);
    }
    if (data.unknown_macs) items.push([`MACs unknown for ${data.unknown_macs.join(", ")}: left out of the total`]);
    for (const c of data.settings.conventions) items.push([c]);
    if (state.worked) for (const line of state.worked.totals) items.push([line]);
    els.notes.replaceChildren(...items.map(([text, cls]) => el("li", cls, text)));
  }

  // ------------------------------------------------------------------------------------------------- the diagram

  let drawTimer = null;

  function scheduleDraw(body) {
    clearTimeout(drawTimer);
    const seq = ++state.drawSeq; // only the newest diagram asked for is shown
    els.diagram.classList.add("pending"); // dimmed until it shows the table's network
    // While keys are still coming, wait: drawing a large network between two keystrokes would hold up the next.
    const wait = () => {
      const idle = performance.now() - state.lastKey;
      drawTimer = idle < 800 ? setTimeout(wait, 800 - idle) : setTimeout(() => runDraw(body, seq), 0);
    };
    drawTimer = setTimeout(wait, 500);
  }

  function showDrawing(seq, ...children) {
    if (seq !== state.drawSeq) return;
    els.diagram.replaceChildren(...children);
    els.diagram.classList.remove("pending");
  }

  async function runDraw(body, seq) {
    let res;
    let blob;
    try {
      res = await fetch("/api/draw", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) {
        let message = `${res.status} ${res.statusText}`;
        try {
          message = (await res.json()).error || message;
        } catch (e) { /* not JSON: the status says it */ }
        showDrawing(seq, el("p", "small error", `No diagram: ${message}`));
        return;
      }
      blob = new Blob([await res.blob()], { type: "image/svg+xml" });
    } catch (e) {
      showDrawing(seq, el("p", "small error", `No diagram: cannot reach the server (${e.message})`));
      return;
    }
    if (seq !== state.drawSeq) return;
    // As an <img> from a blob: an SVG shown this way can run no script.
    const url = URL.createObjectURL(blob);
    const img = new Image();
    img.alt = `diagram of ${state.report ? state.report.model : "the network"}`;
    img.title = "drag to pan; double-click to switch between fit and 100%";
    img.draggable = false;
    img.src = url;
    try {
      await img.decode();
    } catch (e) { /* shown as a broken image: the alt text says what it was */ }
    while (seq === state.drawSeq && performance.now() - state.lastKey < 800) {
      await new Promise((resolve) => setTimeout(resolve, 200)); // swap the picture between edits, not during one
    }
    if (seq !== state.drawSeq) {
      URL.revokeObjectURL(url);
      return;
    }
    showDrawing(seq, img);
    applyZoom();
    if (state.drawUrl) URL.revokeObjectURL(state.drawUrl);
    state.drawUrl = url;
    const open = document.getElementById("diagram-open");
    open.href = url;
    open.hidden = false;
  }

  // Zoom: null fits the card's width; a number scales the drawing's own size (1: one pixel a unit).
  const ZOOMS = [0.25, 0.35, 0.5, 0.7, 1, 1.4, 2, 2.8, 4];

  function applyZoom() {
    const img = els.diagram.querySelector("img");
    els.diagram.classList.toggle("fit", state.zoom === null);
    document.getElementById("diagram-zoom").textContent =
      state.zoom === null ? "fit" : `${Math.round(state.zoom * 100)}%`;
    if (!img) return;
    img.style.width = state.zoom === null || !img.naturalWidth ? "" : `${Math.round(img.naturalWidth * state.zoom)}px`;
  }

  function zoomTo(zoom, around) {
    const box = els.diagram;
    const img = box.querySelector("img");
    const before = img ? img.getBoundingClientRect().width : 0;
    const rect = box.getBoundingClientRect();
    const at = around || { x: rect.width / 2, y: rect.height / 2 };
    const fx = (box.scrollLeft + at.x) / (before || 1);
    const fy = (box.scrollTop + at.y) / (before || 1);
    state.zoom = zoom;
    applyZoom();
    const after = img ? img.getBoundingClientRect().width : 0;
    box.scrollLeft = fx * after - at.x; // the point under the cursor (or the centre) stays put
    box.scrollTop = fy * after - at.y;
  }

  function currentZoom() {
    const img = els.diagram.querySelector("img");
    if (state.zoom !== null || !img || !img.naturalWidth) return state.zoom || 1;
    return img.getBoundingClientRect().width / img.naturalWidth;
  }

  function stepZoom(direction, around) {
    const now = currentZoom();
    const next = direction > 0 ? ZOOMS.find((z) => z > now + 1e-3) : [...ZOOMS].reverse().find((z) => z < now - 1e-3);
    if (next !== undefined) zoomTo(next, around);
  }

  function bindDiagram() {
    document.getElementById("diagram-tools").addEventListener("click", (e) => {
      const how = e.target.dataset && e.target.dataset.zoom;
      if (!how) return;
      if (how === "in" || how === "out") stepZoom(how === "in" ? 1 : -1);
      else zoomTo(how === "fit" ? null : Number(how));
    });
    const box = els.diagram;
    box.addEventListener("wheel", (e) => {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      const rect = box.getBoundingClientRect();
      stepZoom(e.deltaY < 0 ? 1 : -1, { x: e.clientX - rect.left, y: e.clientY - rect.top });
    }, { passive: false });
    box.addEventListener("dblclick", (e) => {
      const rect = box.getBoundingClientRect();
      zoomTo(state.zoom === null ? 1 : null, { x: e.clientX - rect.left, y: e.clientY - rect.top });
    });
    let drag = null;
    box.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || !box.querySelector("img")) return;
      drag = { x: e.clientX, y: e.clientY, left: box.scrollLeft, top: box.scrollTop };
      box.setPointerCapture(e.pointerId);
      box.classList.add("dragging");
    });
    box.addEventListener("pointermove", (e) => {
      if (!drag) return;
      box.scrollLeft = drag.left - (e.clientX - drag.x);
      box.scrollTop = drag.top - (e.clientY - drag.y);
    });
    const stop = () => {
      drag = null;
      box.classList.remove("dragging");
    };
    box.addEventListener("pointerup", stop);
    box.addEventListener("pointercancel", stop);
  }

  // ------------------------------------------------------------------------------------------------- the zoo

  async function loadZooList() {
    const res = await fetch("/api/zoo");
    if (!res.ok) return;
    state.zooList = await res.json();
    const frag = document.createDocumentFragment();
    for (const m of state.zooList) {
      const option = el("option", "", `${m.name} (${human(m.params)} params, ${m.input})`);
      option.value = m.name;
      option.title = m.summary;
      frag.append(option);
    }
    els.zoo.append(frag);
    if (state.zooName) els.zoo.value = state.zooName;
    showZooOptions(state.zooName);
  }

  function showZooOptions(name) {
    const m = state.zooList.find((x) => x.name === name);
    const keys = m ? Object.entries(m.options) : [];
    els.zooOptions.hidden = keys.length === 0;
    els.zooOptions.placeholder = "options: " + keys.map(([k, v]) => `${k}=${String(v).toLowerCase()}`).join(" ");
  }

  function zooQuery(text) {
    const q = new URLSearchParams();
    for (const pair of text.split(/[\s,]+/)) {
      const [k, v] = pair.split("=");
      if (k && v !== undefined) q.set(k, v);
    }
    return q.toString();
  }

  async function pickZoo(name, options = "") {
    if (!name) return;
    setStatus("busy", `loading ${name}…`);
    const query = zooQuery(options);
    let res;
    let data;
    try {
      res = await fetch(`/api/zoo/${encodeURIComponent(name)}${query ? "?" + query : ""}`);
      data = await res.json();
    } catch (e) {
      showError({ error: `cannot reach the server (${e.message})` });
      return;
    }
    if (!res.ok) {
      showError(data);
      return;
    }
    state.zooName = name;
    state.zooSpec = data.spec;
    state.zooOptions = options;
    els.zoo.value = name;
    els.zooOptions.value = options;
    showZooOptions(name);
    state.selected = null;
    setSpec(data.spec);
    await runReport();
  }

  // ------------------------------------------------------------------------------------------------- checking

  function renderVerdict(data) {
    const out = [];
    if (data.error) {
      const where = data.line ? `line ${data.line}: ` : "";
      out.push(el("div", "head error", where + (data.layer ? `${data.layer}: ` : "") + data.error));
      els.verdict.replaceChildren(...out);
      return;
    }
    if (!data.verdicts.length) {
      out.push(el("div", "head ok", `The spec is valid (${data.message}). Write a total or paste a table to check.`));
      els.verdict.replaceChildren(...out);
      return;
    }
    const right = data.verdicts.filter((v) => v.ok).length;
    const n = data.verdicts.length;
    const head = n === 1 ? (right ? "Right" : "Wrong") : `${right} of ${n} answers right`;
    out.push(el("div", "head " + (data.ok ? "ok" : "wrong"), head));
    out.push(el("p", "convention", `Counted as: ${data.convention}`));
    const list = el("ul");
    for (const v of data.verdicts) {
      const li = el("li");
      const cellName = v.layer === "total" ? `total ${v.field}` : `${v.layer}.${v.field}`;
      const show = (x) => (typeof x === "number" ? int(x) : String(x));
      li.append(el("span", v.ok ? "right" : "wrong", `${cellName}: ${show(v.claimed)} is ${v.ok ? "right" : "wrong"}`));
      if (!v.ok) {
        li.append(`; the right figure is ${show(v.correct)}`);
        const why = el("ul");
        if (!v.diagnoses.length) why.append(el("li", "diag", "no slip in the catalogue gives this figure"));
        for (const d of v.diagnoses) {
          const item = el("li", "diag");
          item.append(el("code", "", d.mistake), ` ${d.explanation} (gives ${show(d.gives)})`);
          why.append(item);
        }
        li.append(why);
      }
      list.append(li);
    }
    out.push(list);
    if (data.skipped.length) {
      out.push(el("p", "convention", "Not checked:"));
      const skipped = el("ul");
      for (const s of data.skipped) skipped.append(el("li", "", `line ${s.line}: ${s.message}`));
      out.push(skipped);
    }
    els.verdict.replaceChildren(...out);
  }

  async function runCheck() {
    const base = request();
    const body = { spec: base.spec, no_bias: !els.bias.checked, layout: base.layout };
    if (base.name) body.name = base.name;
    if (base.input) body.input = base.input;
    const total = els.total.value.trim();
    const answers = els.answers.value.trim();
    if (!total && !answers) {
      els.verdict.replaceChildren(el("div", "head error", "Write your total, or paste your table, first."));
      return;
    }
    if (total) {
      body.total = total;
      body.of = els.of.value;
    }
    if (answers) body.answers_csv = answers;
    await askWith(els.check, els.verdict, "checking…", "/api/check", body, renderVerdict);
  }

  // ------------------------------------------------------------------------------------------------- training memory

  // The figures of `cnncalc memory --training --format json`, each with its formula.
  function renderMemory(data) {
    if (data.error) {
      els.memoryOut.replaceChildren(el("div", "head error", data.error));
      return;
    }
    const t = data.totals;
    const line = (label, step, note) =>
      el("li", "", `${label}: ${bytes(step.bytes)} (${int(step.bytes)} bytes = ${step.formula.replace(/\*/g, "·")}), ${note}`);
    const precision = data.amp ? `fp32 with autocast to ${data.amp}` : `${data.dtype}`;
    const items = [
      line("weights", t.weights, "params and buffers"),
      line("gradients", t.gradients, "one a parameter"),
      line("optimizer state", t.optimizer_state, `(${data.optimizer})`),
      line("saved activations", t.activations, "what autograd keeps for the backward pass"),
      line("training total", t.training_total, "held at the end of the forward pass"),
    ];
    if (t.step_peak) {
      const where = data.step_peak && data.step_peak.phase ? `, reached ${data.step_peak.phase}` : "";
      items.push(line("step peak", t.step_peak, `the most held at once in one step${where}`));
    }
    const list = el("ul");
    list.append(...items);
    els.memoryOut.replaceChildren(el("div", "head", `${data.model}: batch ${int(data.batch)}, ${precision}`), list);
  }

  async function runMemory() {
    const base = request();
    const batch = Number(els.memBatch.value);
    if (!Number.isInteger(batch) || batch < 1) {
      els.memoryOut.replaceChildren(el("div", "head error", "The batch is a whole number of at least 1."));
      return;
    }
    const body = { ...base, batch, training: true, optimizer: els.memOptimizer.value };
    if (els.memAmp.value) body.amp = els.memAmp.value;
    await askWith(els.memory, els.memoryOut, "estimating…", "/api/memory", body, renderMemory);
  }

  // ------------------------------------------------------------------------------------------------- share, download

  function toBase64Url(text) {
    const data = new TextEncoder().encode(text);
    let binary = "";
    for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64Url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(b64 + "===".slice((b64.length + 3) % 4));
    const data = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  }

  function shareHash() {
    const q = new URLSearchParams();
    if (state.zooName && els.spec.value === state.zooSpec) {
      q.set("zoo", state.zooName);
      if (state.zooOptions) q.set("options", state.zooOptions);
    } else {
      q.set("spec", toBase64Url(els.spec.value));
    }
    if (!els.bias.checked) q.set("bias", "0");
    if (els.strict.checked) q.set("strict", "1");
    if (els.layout.value !== "hwc") q.set("layout", els.layout.value);
    if (els.input.value.trim()) q.set("input", els.input.value.trim());
    return "#" + q.toString();
  }

  async function share() {
    const hash = shareHash();
    history.replaceState(null, "", hash);
    const link = location.href;
    els.shareLink.value = link;
    els.shareLink.select();
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(link);
        copied = true;
      }
    } catch (e) { /* refused: the link is in the box to copy by hand */ }
    els.shareStatus.textContent = copied
      ? "Link copied: whoever opens it sees this spec and these settings."
      : "Copy the link above: whoever opens it sees this spec and these settings.";
  }

  async function applyHash() {
    const hash = location.hash.slice(1);
    if (!hash) return false;
    const q = new URLSearchParams(hash);
    if (!q.has("spec") && !q.has("zoo")) return false;
    els.bias.checked = q.get("bias") !== "0";
    els.strict.checked = q.get("strict") === "1";
    els.layout.value = q.get("layout") === "chw" ? "chw" : "hwc";
    els.input.value = q.get("input") || "";
    state.selected = null;
    if (q.has("zoo")) {
      await pickZoo(q.get("zoo"), q.get("options") || "");
      return true;
    }
    let text;
    try {
      text = fromBase64Url(q.get("spec"));
    } catch (e) {
      setSpec("");
      showError({ error: "the link's spec cannot be read: it was cut short or changed on the way" });
      return true;
    }
    state.zooName = "";
    els.zoo.value = "";
    showZooOptions("");
    setSpec(text);
    await runReport();
    return true;
  }

  async function download(fmt) {
    els.downloadStatus.textContent = "";
    let res;
    try {
      res = await fetch(`/api/export/${fmt}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request()),
      });
    } catch (e) {
      els.downloadStatus.textContent = `cannot reach the server (${e.message})`;
      return;
    }
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const data = await res.json();
        message = (data.line ? `line ${data.line}: ` : "") + (data.layer ? `${data.layer}: ` : "") + data.error;
      } catch (e) { /* the status says it */ }
      els.downloadStatus.textContent = `No ${fmt} file: ${message}`;
      return;
    }
    const blob = await res.blob();
    const m = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = m ? m[1] : `network.${fmt}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 30000);
    els.downloadStatus.textContent = `Saved ${a.download}.`;
  }

  // ------------------------------------------------------------------------------------------------- start

  function bind() {
    bindDiagram();
    els.spec.addEventListener("input", () => {
      if (state.zooName && els.spec.value !== state.zooSpec) {
        state.zooName = "";
        els.zoo.value = "";
        showZooOptions("");
      }
      state.lastKey = performance.now();
      // Line numbers change only with the number of lines; the report that follows redraws the marks.
      if (lineCount() !== state.gutterLines) renderGutter();
      schedule();
    });
    els.spec.addEventListener("scroll", placeBands);
    els.gutter.addEventListener("click", (e) => {
      const line = Number(e.target.dataset && e.target.dataset.line);
      if (line) goToLine(line);
    });
    for (const input of [els.bias, els.strict, els.layout]) input.addEventListener("change", () => runReport());
    els.input.addEventListener("input", () => schedule(400));
    els.zoo.addEventListener("change", () => {
      els.zooOptions.value = "";
      pickZoo(els.zoo.value);
    });
    els.zooOptions.addEventListener("change", () => pickZoo(els.zoo.value, els.zooOptions.value.trim()));
    els.rows.addEventListener("click", (e) => {
      const tr = e.target.closest("tr");
      if (tr && tr.dataset.name) toggleLayer(tr.dataset.name);
    });
    els.check.addEventListener("click", runCheck);
    els.memory.addEventListener("click", runMemory);
    els.total.addEventListener("keydown", (e) => {
      if (e.key === "Enter") runCheck();
    });
    els.share.addEventListener("click", share);
    els.downloads.addEventListener("click", (e) => {
      const fmt = e.target.dataset && e.target.dataset.fmt;
      if (fmt) download(fmt);
    });
    window.addEventListener("hashchange", applyHash);
    window.addEventListener("resize", () => {
      metrics = null;
      placeBands();
    });
  }

  async function start() {
    bind();
    renderGutter();
    fetch("/api/info")
      .then((res) => res.json())
      .then((info) => {
        els.version.textContent = info.version;
        els.downloads.querySelector('[data-fmt="torch"]').hidden = !info.torch;
      })
      .catch(() => {});
    loadZooList().catch(() => {});
    if (!(await applyHash())) {
      setSpec(EXAMPLE);
      await runReport();
    }
  }

  start();
})();
