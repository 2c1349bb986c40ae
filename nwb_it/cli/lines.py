"""What the command line prints for each job's row (:mod:`nwb_it.steps.jobs`): the only place rows become text."""
from __future__ import annotations

from ..core.comparison import MIN_SHARE_UNITS


def _written(row: dict, key: str = "derivative", how: str = "\nresults written into") -> str:
    return f"{how} its derivative {row[key]}" if row.get(key) else ""


def convert_line(row: dict) -> str:
    return row["nwb"]


def validate_line(row: dict) -> str:
    n = len(row["findings"])
    return "\n".join([*row["findings"], f"{row['file']}: {'FAILED' if row['blocking'] else 'OK'} ({n} finding(s), "
                                      f"{row['blocking']} blocking)"])


def reliability_line(row: dict) -> str:
    tested = "" if row["q05"] is None else f", {row['q05']} with q < 0.05"
    lines = [f"{row['nwb']}: {row['units']} units, {row['responsive']} responsive (d' > {row['cutoff']:g}){tested}, "
             f"{row['undefined']} undefined"]
    if row["dprime_quantiles"]:
        lines.append("d' min/25%/median/75%/max: " + " / ".join(f"{v:.2f}" for v in row["dprime_quantiles"]))
    if row["pickle"]:
        lines.append(f"responsive units' spikes: {row['pickle']}")
    if row["figures"]:
        lines.append(f"histograms: {row['figures']}")
    return "\n".join(lines) + _written(row)


def heatmaps_line(row: dict) -> str:
    return f"{row['nwb']}: {row['figures']} figures in {row['folder']}" + _written(row, "read_from",
                                                                                  "; results read from")


def plot_activations_line(row: dict) -> str:
    return f"{row['nwb']}: {row['figures']} figures in {row['folder']}" + _written(row, "read_from", "; read from")


def compare_line(row: dict) -> str:
    layers, table = row["layers"], row["activations"]
    if len(layers) > 1:
        lines = [f"{row['nwb']}:"]
        for s in layers:
            lines.append(f"{table} {s['layer']:>8}: median r²/ceiling {s['median']:.2f} ({s['ci_low']:.2f}.."
                         f"{s['ci_high']:.2f}), RSA rho_halves/ceiling {s['rsa_normalized']:.2f}")
        if row["partition"] is not None:
            bands = row["partition"]
            n = next(iter(bands.values()))["units"]
            lines.append(f"variance partition ({n} units with a reliable joint model), median share of the held-out "
                         "R²: " + (", ".join(f"{b} {v['median_share']:.2f} ({v['share_ci_low']:.2f}.."
                                             f"{v['share_ci_high']:.2f})" for b, v in bands.items())
                                   if n >= MIN_SHARE_UNITS else f"not reported (fewer than {MIN_SHARE_UNITS} units)"))
        return "\n".join(lines) + _written(row)
    s = layers[0]
    return (f"{row['nwb']}:\nencoding: {s['units']} units, median r {s['median_r']:.2f}, median ceiling "
            f"{s['median_ceiling']:.2f}, median r²/ceiling {s['median']:.2f} "
            f"(95% CI over clips {s['ci_low']:.2f}..{s['ci_high']:.2f}); above the clip-shuffled baseline by "
            f"{s['above_clip_shuffled']:.2f}, above onset-only by {s['above_onset_only']:.2f}\n"
            f"RSA: Spearman rho {s['rho']:.2f} over {s['rsa_clips']} clips (with half-data RDMs "
            f"{s['rho_halves']:.2f}), ceiling {s['rsa_ceiling']:.2f} (rho_halves/ceiling {s['rsa_normalized']:.2f})"
            + (f"; {s['rsa_note']}" if s["rsa_note"] else "") + _written(row)
            + (f"\nfigures: {row['figures']}" if row["figures"] else ""))


def written_line(row: dict) -> str:
    """extract's line for each file written."""
    return f"{row['nwb']} (table {row['table']})"


def extract_line(row: dict | None) -> str:
    if row is None:
        return "no file matched the clips: nothing computed"
    how = ("read from the cache, no model run" if row["cached"] else
           f"{row['computed']} computed, {row['windows'] - row['computed']} all-grey windows reused")
    return (f"{row['family']}: {row['clips']} clips, {row['windows']} windows ({how}), layers "
            f"{', '.join(row['layers'])}" + (f"\n{row['npy']}" if row["npy"] else ""))
