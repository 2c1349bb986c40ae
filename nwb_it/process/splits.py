"""Random split halves of every clip's repeats, the same for every unit, and the split-half r they give.

Two layouts of the same splits:

* dense, (clips x repeats) grids: :func:`split_positions`, :func:`split_half_r` (the lab-compatible
  replay uses them), :func:`half_means` (two halves' mean counts: the encoding and RSA ceilings);
* per presentation, memory that follows the presentations whatever the largest repeat count:
  :func:`draw_keys` (the same random numbers as the dense grid), :func:`presentation_ranks`,
  :func:`split_half_r_by_presentation` (the default reliability path).

Equal on the same keys (tested).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse

from ..core.recording import AlignedCounts
from .stats import pearson_from_moments


def split_positions(rng: np.random.Generator | np.ndarray, mask: np.ndarray, n_perm: int) -> np.ndarray:
    """Random rank of every repeat within its clip, per permutation: (n_perm, n_clips, n_repeats).

    ``rng`` may be a generator or keys already drawn from one (the same keys then give the
    same splits under different masks). Absent repeats rank after all present ones.
    Rank < n_k // 2 = first half.
    """
    keys = rng.random((n_perm, *mask.shape)) if isinstance(rng, np.random.Generator) else rng.copy()
    keys[:, ~mask] = np.inf
    return np.argsort(np.argsort(keys, axis=-1), axis=-1).astype(np.int16)


def split_half_r(counts: np.ndarray, mask: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Pearson r between split halves, (n_units, n_perm).

    counts: (n_units, n_clips, n_repeats, n_bins); positions: (n_perm, n_clips, n_repeats) from
    ``split_positions``, the same splits for every unit. Clips with fewer than 2 repeats drop out.
    """
    n_k = mask.sum(1)
    usable = n_k >= 2
    if not usable.any():                      # no clip can be split: nothing to correlate
        return np.full((counts.shape[0], positions.shape[0]), np.nan)
    half = (n_k // 2)[usable, None]
    pos, m = positions[:, usable], mask[usable]
    first, second = (pos < half) & m, (pos >= half) & m
    wa = (first / np.maximum(first.sum(-1, keepdims=True), 1)).transpose(1, 0, 2)   # (k, p, r)
    wb = (second / np.maximum(second.sum(-1, keepdims=True), 1)).transpose(1, 0, 2)
    n_units, _, n_rep, n_bins = counts.shape
    c = counts[:, usable].astype(np.float64).transpose(1, 2, 0, 3).reshape(-1, n_rep, n_units * n_bins)
    # one (perm x repeat) @ (repeat x unit*bin) product per clip: BLAS does the work
    a = np.matmul(wa, c).reshape(c.shape[0], -1, n_units, n_bins)        # (k, p, u, b)
    b = np.matmul(wb, c).reshape(c.shape[0], -1, n_units, n_bins)
    return _centred_r(a, b, (0, 3), "kpub")


def _centred_r(a: np.ndarray, b: np.ndarray, cells: tuple[int, int], dims: str) -> np.ndarray:
    """Pearson r over the (clip, bin) ``cells`` axes of two half-mean arrays, per (unit, perm): (units, perms).
    Centred in place; :func:`~nwb_it.process.stats.pearson_from_moments`'s rule for constant halves."""
    n = a.shape[cells[0]] * a.shape[cells[1]]
    ma, mb = a.mean(axis=cells, keepdims=True), b.mean(axis=cells, keepdims=True)
    a -= ma
    b -= mb
    spec = f"{dims},{dims}->up"
    va, vb = np.einsum(spec, a, a), np.einsum(spec, b, b)
    ss_a, ss_b = va + n * np.squeeze(ma, cells).T ** 2, vb + n * np.squeeze(mb, cells).T ** 2   # uncentred
    return pearson_from_moments(np.einsum(spec, a, b), va, vb, ss_a, ss_b)


def null_deal(rng: np.random.Generator, counts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One unit's presentations shuffled across clips, keeping each clip's repeat count."""
    flat = counts[mask]                       # (n_presentations, n_bins), clip-major
    dealt = np.zeros_like(counts)
    dealt[mask] = flat[rng.permutation(flat.shape[0])]
    return dealt


KEY_CHUNK = 1 << 22          # random keys drawn at once (32 MB)


def draw_keys(rng: np.random.Generator, n_perm: int, shape: tuple[int, int], cells: np.ndarray) -> np.ndarray:
    """(n_perm, len(cells)): the values ``rng.random((n_perm, *shape))`` holds at the flat ``cells``.

    The same numbers as drawing the whole (perm, clip, repeat) grid, without ever holding it:
    memory follows the presentations even when one clip has thousands of repeats.
    """
    n_cells = shape[0] * shape[1]
    if n_perm * n_cells <= KEY_CHUNK:
        return rng.random((n_perm, n_cells))[:, cells]
    out = np.empty((n_perm, cells.size))
    for p in range(n_perm):
        for lo in range(0, n_cells, KEY_CHUNK):
            values = rng.random(min(KEY_CHUNK, n_cells - lo))
            inside = (cells >= lo) & (cells < lo + values.size)
            out[p, inside] = values[cells[inside] - lo]
    return out


def presentation_ranks(keys: np.ndarray, present: np.ndarray, clip_of: np.ndarray) -> np.ndarray:
    """Rank of every presentation among its clip's present ones, by key, per permutation: (n_perm, P).

    Presentations are clip-major; absent ones rank after the present ones. Rank < n_k // 2 = first half.
    """
    masked = np.where(present, keys, np.inf)
    order = np.lexsort((masked, np.broadcast_to(clip_of, masked.shape)), axis=-1)
    starts = np.searchsorted(clip_of, clip_of)                     # first presentation of each one's clip
    rank = np.empty(order.shape, dtype=np.int32)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(clip_of.size) - starts, order.shape), axis=-1)
    return rank


def _half_weights(ranks: np.ndarray, present: np.ndarray, clip_of: np.ndarray, n_clips: int):
    """Sparse (perm * usable clip, presentation) weights of each half's mean, and the number of usable clips."""
    n_k = np.bincount(clip_of[present], minlength=n_clips)
    usable = n_k >= 2
    row_of_clip = np.cumsum(usable) - 1
    n_use = int(usable.sum())
    half = (n_k // 2)[clip_of]
    take = present & usable[clip_of]
    out = []
    for first in (True, False):
        inside = ((ranks < half) if first else (ranks >= half)) & take
        size = np.where(first, n_k // 2, n_k - n_k // 2)[clip_of]
        perm, pres = np.nonzero(inside)
        rows = perm * n_use + row_of_clip[clip_of[pres]]
        out.append(scipy.sparse.csr_matrix((1.0 / size[pres], (rows, pres)),
                                           shape=(ranks.shape[0] * n_use, clip_of.size)))
    return out[0], out[1], n_use


def split_half_r_by_presentation(x: np.ndarray, ranks: np.ndarray, present: np.ndarray, clip_of: np.ndarray,
                                 n_clips: int, n_units: int) -> np.ndarray:
    """Pearson r between split halves, (n_units, n_perm), from per-presentation counts.

    ``x``: (presentations, units * bins) float64, clip-major; ``ranks`` from :func:`presentation_ranks`
    (the same splits for every unit); clips with fewer than 2 present repeats drop out.
    Equals :func:`split_half_r` on the dense layout, with memory that follows the presentations.
    """
    n_perm = ranks.shape[0]
    n_bins = x.shape[1] // n_units
    out = np.full((n_units, n_perm), np.nan)
    n_use = int((np.bincount(clip_of[present], minlength=n_clips) >= 2).sum())
    if n_use == 0:                             # no clip can be split: nothing to correlate
        return out
    block = max(1, min(n_perm, (1 << 21) // max(1, n_use * x.shape[1])))
    for lo in range(0, n_perm, block):
        wa, wb, _ = _half_weights(ranks[lo:lo + block], present, clip_of, n_clips)
        k = min(block, n_perm - lo)
        a = (wa @ x).reshape(k, n_use, n_units, n_bins)
        b = (wb @ x).reshape(k, n_use, n_units, n_bins)
        out[:, lo:lo + k] = _centred_r(a, b, (1, 3), "pkub")
    return out


def half_means(aligned: AlignedCounts, keep: np.ndarray, rng: np.random.Generator, n_splits: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Mean counts of two random halves of each kept clip's repeats: two (units, clips, bins) arrays.

    With ``n_splits``, that many random halvings at once (the same random numbers, in the same order, as
    ``n_splits`` calls): two (n_splits, units, clips, bins) arrays. Clips with fewer than 2 repeats drop out.
    """
    mask = aligned.mask[keep]
    ok = mask.sum(1) >= 2
    rank = split_positions(rng, mask, 1 if n_splits is None else n_splits)[:, ok]      # (splits, clips, repeats)
    mask = mask[ok]
    half = (mask.sum(1) // 2)[:, None]
    counts = np.moveaxis(aligned.counts[:, keep][:, ok], 0, 2).astype(np.float64)        # (clips, repeats, units, bins)
    n_units = counts.shape[2]
    counts = counts.reshape(*counts.shape[:2], -1).transpose(0, 2, 1)                   # (clips, units x bins, repeats)
    out = []
    for first in (True, False):
        w = ((rank < half) if first else (rank >= half)) & mask
        w = (w / w.sum(2, keepdims=True)).transpose(1, 2, 0)                            # (clips, repeats, splits)
        means = (counts @ w).reshape(mask.shape[0], n_units, -1, w.shape[2])
        out.append(means.transpose(3, 1, 0, 2))                                          # (splits, units, clips, bins)
    return (out[0][0], out[1][0]) if n_splits is None else (out[0], out[1])


def presentation_ranks_in_clip(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of each clip's presentations: every presentation's rank (0, 1, ...) within its clip."""
    order = np.lexsort((rng.random(clip.size), clip))
    sorted_clip = clip[order]
    starts = np.flatnonzero(np.r_[True, sorted_clip[1:] != sorted_clip[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, clip.size]))
    ranks = np.empty(clip.size, dtype=np.int64)
    ranks[order] = np.arange(clip.size) - first
    return ranks
