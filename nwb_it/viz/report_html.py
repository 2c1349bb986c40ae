"""Self-contained HTML pages: a session's report and the dataset's index.

Everything a page needs is inside it: the data as one JSON block, the script and the
styles inline (``nwb_it/data/report/``), figures and frames as ``data:`` URIs. It opens
from disk in any browser, with no server and no network; nothing from the data is ever
interpreted as markup or code (text is escaped, the JSON block cannot close its tag).
"""
from __future__ import annotations

import html
import io
import json
from importlib import resources

from matplotlib.figure import Figure

_NUMBER_LABELS = (("units", "units"), ("responsive", "responsive (d′ above the cutoff)"),
                  ("q05", "q < .05 (Benjamini–Hochberg)"), ("clips", "clips"), ("presentations", "presentations"))


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """A figure as PNG bytes (for embedding)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _asset(name: str) -> str:
    return resources.files("nwb_it").joinpath("data", "report", name).read_text(encoding="utf-8")


def _json_block(payload: dict) -> str:
    # "</" would end the <script> element early: JSON allows the escaped solidus
    return json.dumps(payload, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")


def _page(title: str, body: str, script: str = "") -> str:
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data: 'self'; "
            f"style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
            f"<title>{html.escape(title)}</title><style>{_asset('report.css')}</style></head>"
            f"<body>{body}{script}</body></html>\n")


def _numbers(numbers: dict) -> str:
    cells = [f"<div class='number'><b>{html.escape(str(numbers[k]))}</b><span>{html.escape(label)}</span></div>"
             for k, label in _NUMBER_LABELS if k in numbers]
    q = numbers.get("dprime_quartiles") or []
    if q:
        cells.append(f"<div class='number'><b>{q[1]:.2f}</b><span>median d′ (quartiles {q[0]:.2f}–{q[2]:.2f})"
                     "</span></div>")
    for m in numbers.get("models", []):
        score = m["best_score"]
        cells.append(f"<div class='number'><b>{'—' if score != score else f'{score:.2f}'}</b><span>best layer of "
                     f"{html.escape(m['label'])}: {html.escape(m['best_layer'])} (median r²/ceiling)</span></div>")
    return "<div class='numbers' id='numbers'>" + "".join(cells) + "</div>"


def _time_table(rows: list[dict]) -> str:
    if not rows:
        return "<p class='note'>No comparison stored in this file (run nwb-it compare).</p>"
    out = []
    for r in rows:
        head = "".join(f"<th>{1000 * t:.0f} ms</th>" for t in r["bin_start"])
        cells = "".join("<td>" + ("—" if v is None else f"{v:.2f}") + "</td>" for v in r["median"])
        out.append(f"<p>{html.escape(r['model'])}: median r²/ceiling by bin start</p><div class='scroll'>"
                   f"<table class='time'><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table></div>")
    return "".join(out)


def _figures(figures: list[dict]) -> str:
    items = []
    for f in figures:
        title = html.escape(f["title"])
        if "src" in f:
            items.append(f"<figure><img src='{html.escape(f['src'], quote=True)}' alt='{title}'>"
                         f"<figcaption>{title}</figcaption></figure>")
        else:
            items.append(f"<figure><a href='{html.escape(f['link'], quote=True)}'>{title}</a>"
                         "<figcaption>linked (over the embedding budget)</figcaption></figure>")
    return "<div class='figures' id='figures'>" + "".join(items) + "</div>"


def session_page(payload: dict, figures: list[dict]) -> str:
    """The report of one session (see :func:`nwb_it.steps.report.compute_report` for ``payload``)."""
    s = payload["session"]
    name = s.get("session_id") or s["identifier"]
    cv = payload["clip_view"]
    frames = ("Frames are embedded in this page (downscaled)." if cv["frames_from"] == "embedded" else
              "No clip frames were found: convert with --stimuli, or pass --stimuli to nwb-it report.")
    body = f"""<header><h1>Session {html.escape(name)}</h1>
<p>subject {html.escape(s.get('subject', ''))} · {html.escape(s.get('start', ''))} · {html.escape(payload['path'])}</p>
</header><main>
<section><h2>Key numbers</h2>{_numbers(payload['numbers'])}</section>
<section><h2>r²/ceiling over time after onset</h2>{_time_table(payload['numbers'].get('time', []))}</section>
<section><h2>Units</h2><div class='controls'>
<label>filter <input id='unit-filter' type='search' placeholder='name or id'></label>
<label><input id='only-responsive' type='checkbox'> responsive only</label>
<label>d′ ≥ <input id='min-dprime' type='number' step='0.1' style='width:5em'></label>
<span id='unit-count' class='note'></span><span class='note'>click a column to sort, a row to see the unit in the
clip view</span></div>
<div class='scroll'><table id='unit-table'><thead id='unit-head'></thead><tbody id='unit-body'></tbody></table></div>
</section>
<section id='clip-view'><h2>Clip view</h2><div class='controls'>
<label>clip <select id='clip-select'></select></label><label>unit <select id='unit-select'></select></label>
<label>model <select id='model-select'></select></label>
<button id='prev-frame'>◀ frame</button><button id='play'>▶ play</button><button id='next-frame'>frame ▶</button>
<span id='frame-label' class='note'></span></div>
<div class='clipview'><div><img id='frame' alt=''><p class='note'>{html.escape(frames)}</p></div>
<div><canvas id='raster'></canvas><canvas id='psth'></canvas><p id='psth-note' class='note'></p></div></div>
<p class='note'>{len(cv['units'])} units in the clip view (compared and responsive units first).</p></section>
<section><h2>Figures</h2>{_figures(figures)}</section>
</main><script type='application/json' id='report-data'>{_json_block(payload)}</script>"""
    return _page(f"nwb_it report — {name}", body, f"<script>{_asset('report.js')}</script>")


_SCORE_COLUMNS = (("model", "model"), ("layer", "layer"), ("raw", "raw"), ("raw_error", "± SE"),
                  ("ceiling", "ceiling"), ("ceiling_error", "± SE"), ("ceiled", "ceiled"), ("bounded", "bounded"),
                  ("n_stimuli", "stimuli"), ("n_neuroids", "neuroids"))


def _cell(value: str) -> str:
    """A table cell of a value read from a CSV file: numbers to 3 decimals, everything escaped."""
    try:
        number = float(value)
    except ValueError:
        return f"<td class='text'>{html.escape(value)}</td>"
    return f"<td>{number:.3f}</td>" if number != int(number) else f"<td>{int(number)}</td>"


def _scores_section(scores: list[dict], figures: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in _SCORE_COLUMNS)
    body = "".join("<tr>" + "".join(_cell(str(r.get(k, ""))) for k, _ in _SCORE_COLUMNS) + "</tr>" for r in scores)
    return (f"<section id='benchmark'><h2>Brain-Score benchmark (nwb-it score)</h2>"
            f"<p class='note'>Brain-Score's spantime_pls: raw = mean over bins of the median cross-validated r; "
            f"ceiled = raw² / ceiling; bounded to [0, 1].</p><table id='scores'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{_figures(figures)}</section>")


def index_page(rows: list[dict], figures: list[dict], scores: list[dict] | None = None,
               score_figures: list[dict] | None = None) -> str:
    """The dataset's index: one row per session with its numbers and a link to its page, then the summary figures,
    and the models' scores on the lab's benchmark (``nwb-it score``'s table and figure) when given."""
    head = ("<tr><th>session</th><th>identifier</th><th>units</th><th>responsive</th><th>q &lt; .05</th>"
            "<th>median d′</th><th>best layer (median r²/ceiling)</th></tr>")
    body_rows = "".join(
        f"<tr><td><a href='{html.escape(r['page'], quote=True)}'>{html.escape(r['session'])}</a></td>"
        f"<td class='text'>{html.escape(str(r['identifier']))}</td><td>{r['units']}</td><td>{r['responsive']}</td>"
        f"<td>{r['q05']}</td><td>{r['dprime_median']}</td><td class='text'>{html.escape(r['best'])}</td></tr>"
        for r in rows)
    body = (f"<header><h1>nwb_it dataset report</h1><p>{len(rows)} sessions</p></header><main>"
            f"<section><h2>Sessions</h2><table id='sessions'><thead>{head}</thead><tbody>{body_rows}</tbody></table>"
            f"</section><section><h2>Across sessions</h2>"
            + (_figures(figures) if figures else "<p class='note'>No summary figures (run nwb-it summary).</p>")
            + "</section>" + (_scores_section(scores, score_figures or []) if scores else "") + "</main>")
    return _page("nwb_it dataset report", body)
