"""What the command line prints of a batch's outcomes (:class:`~nwb_it.steps.outcome.Outcome`), and its exit code.

The runners return outcomes; only the CLI turns them into lines.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..steps.outcome import Outcome


def session_labels(sessions: Sequence[str]) -> list[str]:
    """The shortest trailing part of each path that tells it from the others (``day1/rec.mat``, ``day2/rec.mat``).

    Examples
    --------
    >>> session_labels(["/d/day1/rec.mat", "/d/day2/rec.mat", "/d/day2/x.mat"])
    ['day1/rec.mat', 'day2/rec.mat', 'x.mat']
    """
    parts = [Path(s).parts for s in sessions]
    depth = [1] * len(parts)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        clash = {x for x in labels if labels.count(x) > 1}
        grow = [i for i, x in enumerate(labels) if x in clash and depth[i] < len(parts[i])]
        if not grow:
            return labels
        for i in grow:
            depth[i] += 1


def summary_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """The end-of-run table: session, status, seconds, and the error line of failures."""
    labels = session_labels([o.session for o in outcomes])
    width = max(len(x) for x in labels)
    lines = [f"{'session':<{width}}  {'status':<9}  {'seconds':>8}  error"]
    for o, label in zip(outcomes, labels):
        error = o.message.removeprefix(f"{o.session}: ") if o.failed else ""
        lines.append(f"{label:<{width}}  {o.status:<9}  {o.seconds:8.1f}  {error}")
    n_failed = sum(o.failed for o in outcomes)
    n_cancelled = sum(o.status == "cancelled" for o in outcomes)
    done = len(outcomes) - n_failed - n_cancelled
    lines.append(f"{done} of {len(outcomes)} sessions done, {n_failed} failed"
                 + (f", {n_cancelled} cancelled" if n_cancelled else ""))
    return lines


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """2 when any session failed, 1 when any has (validation) findings, else 0."""
    if any(o.failed for o in outcomes):
        return 2
    return 1 if any(o.status == "findings" for o in outcomes) else 0
