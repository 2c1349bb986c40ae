"""The ``compare`` step: runs the encoding model and RSA on an NWB file, stores tables, draws figures.

Tables in ``processing/ecephys``: ``encoding`` (one row per unit: region into units,
r, ceiling, normalized = r**2 / ceiling, alpha) and ``rsa`` (one row: rho, ceiling,
and both RDMs as clips x clips arrays). Parameters are in the descriptions.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData  # noqa: E402

from ..errors import NwbItError  # noqa: E402
from ..io.append import reading, replace_in_module  # noqa: E402
from ..io.figures import save_figure  # noqa: E402
from .aligned import bin_aligned  # noqa: E402
from .compare import CompareParams, EncodingResult, RSAResult, encoding_model, rsa  # noqa: E402
from .responsive import MODULE, read_reliability  # noqa: E402


def _tables(nwb, enc: EncodingResult, res: RSAResult, params: CompareParams) -> list[DynamicTable]:
    encoding = DynamicTable(name="encoding", description=(
        "Ridge encoding model of each unit's PSTH from lagged VideoMAE activations, outer folds split by clip "
        f"(nwb_it compare; {params.describe()})."), columns=[
        DynamicTableRegion(name="unit", description="Row of the units table.",
                           data=np.asarray(enc.unit_ids, dtype=np.int64), table=nwb.units),
        VectorData(name="r", description="Pearson r of held-out predictions vs the repeat-averaged PSTH.", data=enc.r),
        VectorData(name="ceiling", description="Split-half reliability of the PSTH, Spearman-Brown corrected.",
                   data=enc.ceiling),
        VectorData(name="normalized", description="r**2 / ceiling (Brain-Score 2026 convention).",
                   data=enc.normalized),
        VectorData(name="alpha", description="Ridge penalty chosen most often by the inner cross-validation.",
                   data=enc.alpha)])
    rsa_table = DynamicTable(name="rsa", description=(
        f"Representational similarity of IT and VideoMAE over {len(res.clip_names)} clips (nwb_it compare; "
        f"{params.describe()}; clips in stimulus_index order: {', '.join(res.clip_names)})."), columns=[
        VectorData(name="rho", description="Spearman rho between neural and model RDM upper triangles.",
                   data=[res.rho]),
        VectorData(name="ceiling", description="Spearman-Brown corrected split-half Spearman of neural RDMs.",
                   data=[res.ceiling]),
        VectorData(name="neural_rdm", description="1 - Pearson of population responses (clips x clips).",
                   data=res.neural_rdm[None]),
        VectorData(name="model_rdm", description="1 - Pearson of clip-averaged activations (clips x clips).",
                   data=res.model_rdm[None])])
    return [encoding, rsa_table]


def _figures(enc: EncodingResult, res: RSAResult, out_dir: Path, title: str) -> list[Path]:
    paths = []

    def save(fig, name):
        paths.append(save_figure(fig, out_dir / name))

    best = np.argsort(np.nan_to_num(enc.normalized, nan=-np.inf))[::-1][:4]
    fig, axes = plt.subplots(len(best), 1, figsize=(9, 2.2 * len(best) + 0.5), squeeze=False)
    for ax, u in zip(axes[:, 0], best):
        x = np.arange(enc.measured.shape[1] * enc.measured.shape[2])
        ax.plot(x, enc.measured[u].ravel(), color="k", lw=1, label="measured")
        ax.plot(x, enc.predicted[u].ravel(), color="tab:red", lw=1, label="predicted (held-out clips)")
        ax.set(ylabel="spikes/s", title=f"unit {enc.unit_ids[u]}: r = {enc.r[u]:.2f}, ceiling {enc.ceiling[u]:.2f}, "
               f"r²/ceiling {enc.normalized[u]:.2f}")
        for edge in range(0, x.size, enc.measured.shape[2]):
            ax.axvline(edge - 0.5, color="0.85", lw=0.5)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("clip x time bin (clips in stimulus_index order, bins within clip)")
    fig.suptitle(f"{title}: best-predicted units")
    fig.tight_layout()
    save(fig, "encoding_best_units.png")

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(enc.ceiling, enc.r ** 2, s=18)
    lim = max(np.nanmax(enc.ceiling, initial=0), np.nanmax(enc.r ** 2, initial=0), 0.1) * 1.05
    ax.plot([0, lim], [0, lim], "k--", lw=1, label="r² = ceiling")
    ax.set(xlim=(min(0, np.nanmin(enc.ceiling, initial=0)), lim), ylim=(0, lim), xlabel="noise ceiling (split-half, SB)",
           ylabel="encoding r² (held-out clips)", title=f"{title}\nmedian r²/ceiling {np.nanmedian(enc.normalized):.2f}")
    ax.legend()
    fig.tight_layout()
    save(fig, "encoding_score_vs_ceiling.png")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, rdm, name in zip(axes, (res.neural_rdm, res.model_rdm), ("IT population", "VideoMAE")):
        im = ax.imshow(rdm, cmap="viridis")
        ax.set(title=f"{name} RDM", xlabel="clip", ylabel="clip")
        fig.colorbar(im, ax=ax, label="1 - Pearson r", fraction=0.046)
    fig.suptitle(f"{title}: Spearman rho = {res.rho:.2f} (neural split-half ceiling {res.ceiling:.2f})")
    fig.tight_layout()
    save(fig, "rsa_rdms.png")
    return paths


def run_compare(nwb_path: str | Path, params: CompareParams = CompareParams(), units: str = "responsive",
                fig_dir: str | Path | None = None) -> tuple[EncodingResult, RSAResult]:
    """Encoding model + RSA from the reliability and activations tables of ``nwb_path``; results stored in it.

    Examples
    --------
    >>> enc, res = run_compare("sub-coco_ses-fixshortvid1_ecephys.nwb", fig_dir="figures")  # doctest: +SKIP
    >>> float(np.nanmedian(enc.normalized))                                                   # doctest: +SKIP
    0.83
    """
    from ..model.activations import read_activations

    if units not in ("responsive", "all"):
        raise NwbItError(f"--units must be responsive or all, not {units!r}")
    with reading(nwb_path) as nwb:
        rel = read_reliability(nwb)
        acts = read_activations(nwb)
        chosen = None if units == "all" else rel.unit_ids[rel.responsive]
        if chosen is not None and chosen.size == 0:
            raise NwbItError("no responsive unit to compare; pass --units all")
        aligned = bin_aligned(nwb, params.window, params.bin_size, chosen)
        title = f"session {nwb.session_id}"
    if f"activations_{params.layer}" not in acts:
        raise NwbItError(f"no layer '{params.layer}' in the activations table", nwb_path)
    if np.isin(aligned.clip_index, acts["stimulus_index"]).sum() < max(params.folds, 4):
        raise NwbItError(f"fewer clips with both spikes and activations than folds ({params.folds})", nwb_path)
    enc = encoding_model(aligned, acts, params)
    res = rsa(aligned, acts, params)
    replace_in_module(nwb_path, MODULE, "Extracellular electrophysiology analyses by nwb_it.",
                      lambda f: _tables(f, enc, res, params))
    if fig_dir is not None:
        _figures(enc, res, Path(fig_dir), title)
    return enc, res
