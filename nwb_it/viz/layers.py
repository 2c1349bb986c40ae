"""Which model, and which layer, predicts IT best: score against depth, and a ranking of models x layers."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .save import new_figure


def relative_depth(layer: str, n_layers: int | None) -> float:
    """``layerI`` -> I / n_layers (0 = embeddings, 1 = the last block); ``last`` (after the final norm) a bit past 1."""
    n = max(int(n_layers or 1), 1)
    return 1.0 + 0.5 / n if layer == "last" else int(layer.removeprefix("layer")) / n


MARKERS, DASHES = "osD^v<>", ("-", "--", ":", "-.")


def series_label(curve: dict) -> str:
    """One distinct name per compared table: the table, and its family when the name does not say it."""
    table, family = curve["activations"], curve["family"]
    return table if table.startswith(family) else f"{table} ({family})"


def depth_figure(curves: list[dict], title: str) -> Figure:
    """Median r²/ceiling (95 % bootstrap interval over clips) against relative depth, one line per model."""
    fig, ax = new_figure(figsize=(7.5, 4.6))
    for i, curve in enumerate(curves):           # marker and dash differ per series: equal curves stay visible
        layers = list(curve["summary"])
        x = np.array([relative_depth(k, curve["n_layers"]) for k in layers])
        order = np.argsort(x)
        med = np.array([curve["summary"][k]["median"] for k in layers])[order]
        lo = np.array([curve["summary"][k]["ci_low"] for k in layers])[order]
        hi = np.array([curve["summary"][k]["ci_high"] for k in layers])[order]
        line, = ax.plot(x[order], med, marker=MARKERS[i % len(MARKERS)], ls=DASHES[i % len(DASHES)],
                        ms=8 - 1.5 * (i % 3), mfc="none" if i % 2 else None, label=series_label(curve))
        ax.fill_between(x[order], lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set(xlabel="relative depth (0 = embeddings, 1 = last block; past 1 = after the final norm)",
           ylabel="median r²/ceiling over units", title=f"{title}: encoding score by layer (95% bootstrap interval)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    return fig


def ranking_figure(curves: list[dict], title: str) -> Figure:
    """Every (model, layer) by median r²/ceiling, best at the top, with its interval."""
    rows = sorted(((c["summary"][k]["median"], c["summary"][k]["ci_low"], c["summary"][k]["ci_high"],
                    f"{series_label(c)}: {k}") for c in curves for k in c["summary"]),
                  key=lambda r: -np.nan_to_num(r[0]))
    fig, ax = new_figure(figsize=(7, max(3, 0.28 * len(rows) + 1.2)))
    y = np.arange(len(rows))
    med = np.array([r[0] for r in rows])
    ax.barh(y, med, color="tab:blue", alpha=0.7)
    ax.errorbar(med, y, xerr=[med - np.array([r[1] for r in rows]), np.array([r[2] for r in rows]) - med],
                fmt="none", ecolor="k", lw=1)
    ax.set_yticks(y, [r[3] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="median r²/ceiling over units (95% bootstrap interval)", title=f"{title}: models x layers")
    return fig
