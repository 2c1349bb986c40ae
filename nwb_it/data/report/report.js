"use strict";
// The report's page logic: the unit table (sort, filter) and the clip view (frames, raster, PSTH, prediction).
// Everything it draws comes from the JSON block the page carries; it loads nothing from the network.
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const $ = (id) => document.getElementById(id);
  const decode = (b64, Type) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return new Type(bytes.buffer);
  };
  const fmt = (v, digits) => (v === null || v === undefined ? "" : typeof v === "number" ? v.toFixed(digits) : String(v));

  // ---- unit table -------------------------------------------------------------------------------------------
  const columns = [["id", "unit", 0], ["name", "name", null], ["dprime", "d′", 2], ["p", "p", 4], ["q", "q", 4],
                   ["responsive", "responsive", null], ["rate", "rate (sp/s)", 1]]
    .concat(data.score_columns.map((c) => [c, "r²/ceiling " + c, 2]));
  const sort = { key: "id", dir: 1 };
  function renderTable() {
    const text = $("unit-filter").value.trim().toLowerCase();
    const onlyResponsive = $("only-responsive").checked;
    const minD = parseFloat($("min-dprime").value);
    let rows = data.units.filter((u) => (!text || (u.name + " " + u.id).toLowerCase().includes(text)) &&
      (!onlyResponsive || u.responsive) && (isNaN(minD) || (u.dprime !== null && u.dprime >= minD)));
    rows.sort((a, b) => {
      const x = a[sort.key], y = b[sort.key];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sort.dir;
    });
    $("unit-body").innerHTML = rows.map((u) => "<tr data-unit='" + u.id + "'>" + columns.map(([k, , d]) =>
      "<td" + (d === null ? " class='text'" : "") + ">" + escapeHtml(k === "responsive" ? (u[k] === undefined ? "" :
        u[k] ? "yes" : "no") : fmt(u[k], d)) + "</td>").join("") + "</tr>").join("");
    $("unit-count").textContent = rows.length + " of " + data.units.length + " units";
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  $("unit-head").innerHTML = "<tr>" + columns.map(([k, label]) => "<th data-key='" + escapeHtml(k) + "'>" +
    escapeHtml(label) + "</th>").join("") + "</tr>";
  $("unit-head").addEventListener("click", (ev) => {
    const th = ev.target.closest("th");
    if (!th) return;
    const key = th.dataset.key;
    sort.dir = sort.key === key ? -sort.dir : (key === "id" || key === "name" || key === "p" || key === "q" ? 1 : -1);
    sort.key = key;
    for (const h of $("unit-head").querySelectorAll("th")) h.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
    renderTable();
  });
  for (const id of ["unit-filter", "only-responsive", "min-dprime"]) $(id).addEventListener("input", renderTable);
  renderTable();

  // ---- clip view --------------------------------------------------------------------------------------------
  const cv = data.clip_view;
  const presClip = decode(cv.pres_clip, Int32Array);
  const firstOfClip = new Int32Array(cv.clips.length + 1);
  for (let i = 0; i < presClip.length; i++) firstOfClip[presClip[i] + 1]++;
  for (let c = 0; c < cv.clips.length; c++) firstOfClip[c + 1] += firstOfClip[c];
  const trains = {};
  for (const [id, s] of Object.entries(cv.spikes)) trains[id] = { ptr: decode(s.ptr, Int32Array), t: decode(s.t, Int16Array) };
  const preds = cv.predictions.map((p) => ({ ...p, values: Object.fromEntries(Object.entries(p.units).map(([u, b]) =>
    [u, decode(b, Float32Array)])) }));
  const state = { clip: 0, unit: cv.units.length ? String(cv.units[0].id) : null, model: preds.length ? 0 : -1, frame: 0,
                  timer: null };
  const options = (sel, items) => { sel.innerHTML = items.map(([v, t]) => "<option value='" + escapeHtml(v) + "'>" +
    escapeHtml(t) + "</option>").join(""); };
  options($("clip-select"), cv.clips.map((c, i) => [i, c.name + " (" + c.n + " repeats)"]));
  options($("unit-select"), cv.units.map((u) => [u.id, "unit " + u.id + " " + u.name]));
  options($("model-select"), preds.length ? preds.map((p, i) => [i, p.model]) : [[-1, "no comparison stored"]]);

  function frames() { return cv.clips[state.clip].frames; }
  function showFrame() {
    const f = frames();
    const img = $("frame");
    if (!f.length) {
      img.removeAttribute("src");
      img.alt = "no frames for this clip";
      $("frame-label").textContent = "no frames (pass --stimuli, or convert with --stimuli)";
      return;
    }
    state.frame = Math.max(0, Math.min(state.frame, f.length - 1));
    img.src = f[state.frame].src;
    img.alt = "frame " + (state.frame + 1);
    $("frame-label").textContent = "frame " + (state.frame + 1) + " / " + f.length + " · t = " +
      Math.round(f[state.frame].t * 1000) + " ms";
    drawRaster();
    drawPsth();
  }
  function cursorMs() { const f = frames(); return f.length ? f[state.frame].t * 1000 : null; }
  function setupCanvas(canvas, height) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 800;
    canvas.width = width * ratio; canvas.height = height * ratio; canvas.style.height = height + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    return [ctx, width, height];
  }
  const pad = { l: 48, r: 12, t: 10, b: 26 };
  const xOf = (ms, w) => pad.l + (ms - cv.window[0] * 1000) / ((cv.window[1] - cv.window[0]) * 1000) * (w - pad.l - pad.r);
  function axes(ctx, w, h, ylabel) {
    ctx.strokeStyle = "#999"; ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(pad.l, pad.t); ctx.lineTo(pad.l, h - pad.b); ctx.lineTo(w - pad.r, h - pad.b); ctx.stroke();
    const step = 100;
    for (let ms = Math.ceil(cv.window[0] * 10) * 100; ms <= cv.window[1] * 1000 + 1e-6; ms += step) {
      const x = xOf(ms, w);
      ctx.fillText(String(ms), x - 8, h - pad.b + 14);
      ctx.beginPath(); ctx.moveTo(x, h - pad.b); ctx.lineTo(x, h - pad.b + 3); ctx.stroke();
    }
    ctx.fillText("ms from clip onset", w - pad.r - 100, h - 2);
    ctx.save(); ctx.translate(12, h / 2 + 20); ctx.rotate(-Math.PI / 2); ctx.fillText(ylabel, 0, 0); ctx.restore();
    ctx.strokeStyle = "#c33"; ctx.setLineDash([3, 3]);
    const x0 = xOf(0, w); ctx.beginPath(); ctx.moveTo(x0, pad.t); ctx.lineTo(x0, h - pad.b); ctx.stroke();
    ctx.setLineDash([]);
    const c = cursorMs();
    if (c !== null) {
      ctx.strokeStyle = "#e69f00"; ctx.lineWidth = 2;
      const xc = xOf(c, w); ctx.beginPath(); ctx.moveTo(xc, pad.t); ctx.lineTo(xc, h - pad.b); ctx.stroke();
      ctx.lineWidth = 1;
    }
  }
  function drawRaster() {
    const canvas = $("raster");
    const [ctx, w, h] = setupCanvas(canvas, 170);
    axes(ctx, w, h, "repeat");
    const tr = trains[state.unit];
    let n = 0;
    if (tr) {
      const a = firstOfClip[state.clip], b = firstOfClip[state.clip + 1];
      const rowH = (h - pad.t - pad.b) / Math.max(1, b - a);
      ctx.strokeStyle = "#111";
      for (let p = a; p < b; p++) {
        const y = pad.t + (p - a) * rowH;
        for (let k = tr.ptr[p]; k < tr.ptr[p + 1]; k++) {
          const x = xOf(tr.t[k], w);
          ctx.beginPath(); ctx.moveTo(x, y + 1); ctx.lineTo(x, y + Math.max(2, rowH - 1)); ctx.stroke(); n++;
        }
      }
    }
    canvas.dataset.spikes = String(n);
    canvas.dataset.clip = String(state.clip);
    canvas.dataset.cursorMs = String(cursorMs());
  }
  function repeatsRates(edges) {
    // each repeat's rate (spikes/s) in each bin, then mean and 95 % band (mean ± 1.96 SE across repeats)
    const tr = trains[state.unit];
    const a = firstOfClip[state.clip], b = firstOfClip[state.clip + 1], nb = edges.length - 1, n = b - a;
    const mean = new Float64Array(nb), sq = new Float64Array(nb);
    for (let p = a; p < b; p++) {
      const counts = new Float64Array(nb);
      if (tr) for (let k = tr.ptr[p]; k < tr.ptr[p + 1]; k++) {
        const t = tr.t[k] / 1000;
        for (let j = 0; j < nb; j++) if (t >= edges[j] && t < edges[j + 1]) { counts[j]++; break; }
      }
      for (let j = 0; j < nb; j++) { const r = counts[j] / (edges[j + 1] - edges[j]); mean[j] += r; sq[j] += r * r; }
    }
    const lo = new Float64Array(nb), hi = new Float64Array(nb);
    for (let j = 0; j < nb; j++) {
      mean[j] /= Math.max(1, n);
      const v = n > 1 ? Math.max(0, (sq[j] - n * mean[j] * mean[j]) / (n - 1)) : 0;
      const se = Math.sqrt(v / Math.max(1, n));
      lo[j] = mean[j] - 1.96 * se; hi[j] = mean[j] + 1.96 * se;
    }
    return { mean, lo, hi };
  }
  function currentPrediction() {
    if (state.model < 0) return null;
    const p = preds[state.model], v = p.values[state.unit];
    if (!v) return null;
    const row = p.clips.indexOf(state.clip);
    if (row < 0) return null;
    const nb = p.edges.length - 1;
    return { edges: p.edges, values: Array.from(v.slice(row * nb, (row + 1) * nb)) };
  }
  function drawPsth() {
    const canvas = $("psth");
    const [ctx, w, h] = setupCanvas(canvas, 200);
    const pred = currentPrediction();
    let edges;
    if (pred) edges = pred.edges;
    else {
      edges = [];
      for (let t = cv.window[0]; t <= cv.window[1] + 1e-9; t += cv.bin) edges.push(Math.round(t * 1e6) / 1e6);
    }
    const m = repeatsRates(edges);
    let top = 1;
    for (let j = 0; j < m.hi.length; j++) top = Math.max(top, m.hi[j], pred ? pred.values[j] : 0);
    top *= 1.1;
    const yOf = (v) => h - pad.b - Math.max(0, v) / top * (h - pad.t - pad.b);
    axes(ctx, w, h, "spikes/s");
    ctx.fillStyle = "#333"; ctx.fillText(top.toFixed(0), 20, pad.t + 8);
    const centres = edges.slice(0, -1).map((e, j) => (e + edges[j + 1]) / 2 * 1000);
    ctx.fillStyle = "rgba(0, 114, 178, 0.2)";
    ctx.beginPath();
    centres.forEach((c, j) => (j ? ctx.lineTo(xOf(c, w), yOf(m.hi[j])) : ctx.moveTo(xOf(c, w), yOf(m.hi[j]))));
    for (let j = centres.length - 1; j >= 0; j--) ctx.lineTo(xOf(centres[j], w), yOf(m.lo[j]));
    ctx.closePath(); ctx.fill();
    const line = (vals, color, dash) => {
      ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.setLineDash(dash);
      ctx.beginPath(); centres.forEach((c, j) => (j ? ctx.lineTo(xOf(c, w), yOf(vals[j])) : ctx.moveTo(xOf(c, w), yOf(vals[j]))));
      ctx.stroke(); ctx.setLineDash([]); ctx.lineWidth = 1;
    };
    line(m.mean, "#0072b2", []);
    if (pred) line(pred.values, "#d55e00", [6, 3]);
    canvas.dataset.prediction = pred ? JSON.stringify(pred.values.map((v) => Math.round(v * 1000) / 1000)) : "";
    canvas.dataset.measured = JSON.stringify(Array.from(m.mean).map((v) => Math.round(v * 1000) / 1000));
    canvas.dataset.cursorMs = String(cursorMs());
    $("psth-note").textContent = pred ? "blue: measured PSTH with its 95 % band across repeats (where a perfect model's " +
      "prediction falls); orange dashes: " + preds[state.model].model + " held-out prediction" :
      "measured PSTH with its 95 % band across repeats (no stored prediction for this unit and clip)";
  }
  const redraw = () => { showFrame(); drawRaster(); drawPsth(); };
  $("clip-select").addEventListener("change", (e) => { state.clip = +e.target.value; state.frame = 0; redraw(); });
  $("unit-select").addEventListener("change", (e) => { state.unit = e.target.value; redraw(); });
  $("model-select").addEventListener("change", (e) => { state.model = +e.target.value; redraw(); });
  $("prev-frame").addEventListener("click", () => { state.frame--; showFrame(); });
  $("next-frame").addEventListener("click", () => { state.frame = (state.frame + 1) % Math.max(1, frames().length); showFrame(); });
  $("play").addEventListener("click", () => {
    if (state.timer) { clearInterval(state.timer); state.timer = null; $("play").textContent = "▶ play"; return; }
    $("play").textContent = "❚❚ pause";
    state.timer = setInterval(() => { state.frame = (state.frame + 1) % Math.max(1, frames().length); showFrame(); }, 150);
  });
  $("unit-body").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr");
    if (tr && trains[tr.dataset.unit]) { state.unit = tr.dataset.unit; $("unit-select").value = state.unit; redraw();
      $("clip-view").scrollIntoView(); }
  });
  window.addEventListener("resize", redraw);
  if (cv.units.length) redraw();
  window.nwbItReport = { state, data };
})();
