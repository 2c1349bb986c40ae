"""Figures across sessions: responsive units per session, encoding scores per model and layer."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .save import new_figure


def responsive_figure(rows: list[dict]) -> Figure:
    """Units, responsive units and q < 0.05 units of every session."""
    sessions = {}
    for row in rows:
        sessions.setdefault(row["file"], row)
    names = [f"{r['subject_id']} {r['session_id']}" for r in sessions.values()]
    fig, ax = new_figure(figsize=(max(5, 0.5 * len(names) + 2), 4))
    x = np.arange(len(names))
    for offset, key, colour in ((-0.25, "units", "0.7"), (0, "responsive", "tab:green"),
                                (0.25, "q_below_0.05", "tab:blue")):
        values = [float(r[key]) if r[key] != "" else np.nan for r in sessions.values()]
        ax.bar(x + offset, values, width=0.25, color=colour, label=key.replace("_", " "))
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set(ylabel="units", title="units per session")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig


def scores_figure(rows: list[dict]) -> Figure:
    """Median r²/ceiling of every session for each model and layer, sessions as points, their median as a bar."""
    scored = [r for r in rows if r.get("layer")]
    labels = sorted({f"{r['activations']} {r['layer']}" for r in scored})
    fig, ax = new_figure(figsize=(7, max(3, 0.3 * len(labels) + 1.2)))
    for y, label in enumerate(labels):
        values = np.array([r["median_score"] for r in scored if f"{r['activations']} {r['layer']}" == label], float)
        ax.barh(y, np.nanmedian(values), color="tab:blue", alpha=0.4)
        ax.plot(values, np.full(values.size, y), "o", color="tab:blue", ms=4)
    ax.set_yticks(np.arange(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="median r²/ceiling over a session's units (points: sessions; bar: their median)",
           title="encoding score per model and layer" if labels else "no compare results in these files yet")
    return fig
