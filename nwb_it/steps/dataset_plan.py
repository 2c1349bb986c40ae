"""What ``nwb-it run`` has to do: every step of a dataset, its identity, and whether it is done.

A step's *key* is the SHA-256 of its name, its parameters and the keys (or content
digests) of its inputs: a session's ``.mat`` file, metadata, session-table row, clips and
model folder by content, the steps it reads by their keys. A step whose key, and whose
outputs, are as the last run left them is skipped; anything else runs, and the plan says
why. What a run did is kept in ``OUT/.nwb_it-run.json``: the key and outputs of every
step, the size and modification time of every NWB file it wrote (a file changed since,
by anything else, makes its session run again), and file digests by (size, mtime) so a
second run does not read the clips again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.dataset import DatasetSpec
from ..core.errors import NwbItError
from ..core.provenance import package_version
from ..io.atomic import atomic_output
from ..io.digest import file_sha256

STATE_NAME = ".nwb_it-run.json"
STATE_VERSION = 1


@dataclass
class RunState:
    """The last run's record (module doc); ``path`` is ``OUT/.nwb_it-run.json``."""

    path: Path
    steps: dict[str, dict] = field(default_factory=dict)       # step id -> {key, outputs}
    files: dict[str, list[int]] = field(default_factory=dict)   # NWB file -> [size, mtime_ns] after our last write
    digests: dict[str, list] = field(default_factory=dict)      # file -> [size, mtime_ns, sha256]
    rows: dict[str, dict] = field(default_factory=dict)         # session -> its row of the index page
    results: dict[str, str] = field(default_factory=dict)       # session -> the NWB file its results are in

    @classmethod
    def load(cls, out_dir: Path) -> RunState:
        path = out_dir / STATE_NAME
        if not path.exists():
            return cls(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("version") != STATE_VERSION:
                raise ValueError(f"version {doc.get('version')}")
            return cls(path, doc["steps"], doc["files"], doc["digests"], doc.get("rows", {}), doc.get("results", {}))
        except (ValueError, KeyError, TypeError) as exc:
            raise NwbItError(f"the run record is unreadable ({exc}): remove it to run everything again", path) from None

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"version": STATE_VERSION, "steps": self.steps, "files": self.files, "digests": self.digests,
               "rows": self.rows, "results": self.results}
        with atomic_output(self.path, overwrite=True) as tmp:
            tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")

    def digest(self, path: Path) -> str:
        """SHA-256 of a file, read again only when its size or modification time changed."""
        st = path.stat()
        known = self.digests.get(str(path))
        if known and known[:2] == [st.st_size, st.st_mtime_ns]:
            return known[2]
        sha = file_sha256(path)
        self.digests[str(path)] = [st.st_size, st.st_mtime_ns, sha]
        return sha

    def tree_digest(self, folder: Path) -> str:
        """A folder's content: every file's relative path and digest."""
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        return _hash([[p.relative_to(folder).as_posix(), self.digest(p)] for p in files])

    def remember_file(self, path: Path) -> None:
        st = path.stat()
        self.files[str(path)] = [st.st_size, st.st_mtime_ns]

    def file_unchanged(self, path: Path) -> bool:
        """The file is as this tool's last write left it (False: never written by a run, changed, or gone)."""
        try:
            st = path.stat()
        except OSError:
            return False
        return self.files.get(str(path)) == [st.st_size, st.st_mtime_ns]


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """One session of the dataset: its source, the NWB file it becomes and the file its results go into."""

    source: str                  # .mat or NWB (path, URL, DANDI: asset)
    nwb: str                     # the NWB file (converted, or the source itself)
    converted: bool
    name: str                    # OUT/<name>/ holds its figures and report
    metadata: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Step:
    """One step of the plan: ``id`` is unique in the dataset (``reliability:sub-coco_ses-1_ecephys``)."""

    id: str
    kind: str
    key: str
    outputs: list[str]
    session: Session | None = None
    model: object | None = None          # ModelSpec
    reason: str = ""                     # why it runs; "" = up to date

    @property
    def runs(self) -> bool:
        return bool(self.reason)


def step_reason(state: RunState, step: Step, running: list[str], watched: Path | None = None) -> str:
    """Why ``step`` must run, or "" when its last run stands: ``running``, the steps it reads that run now;
    ``watched``, the NWB file it wrote into (changed by anything else since: run again)."""
    done = state.steps.get(step.id)
    if done is None:
        return "new"
    if running:
        return f"{running[0]} runs again"
    if done["key"] != step.key:
        return "its inputs or parameters changed"
    missing = [o for o in step.outputs if not os.path.exists(o)]
    if missing:
        return f"{missing[0]} is missing"
    if watched is not None and not state.file_unchanged(watched):
        return f"{watched} changed since the last run"
    return ""


def source_key(state: RunState, spec: DatasetSpec, session: Session, stimuli: str | None) -> str:
    """The identity of a session's data: its .mat file (with metadata, layout, clips: ``stimuli``, their
    digest), or its NWB file."""
    if session.converted:
        clip_map = state.digest(Path(spec.clip_map)) if spec.clip_map else None
        return _hash({"step": "convert", "mat": state.digest(Path(session.source)), "metadata": session.metadata,
                      "layout": spec.layout, "stimuli": stimuli, "fps": spec.stimuli_fps, "clip_map": clip_map,
                      "version": package_version()})
    if session.source.startswith(("http://", "https://", "DANDI:")):
        return _hash({"remote": hashlib.sha256(session.source.encode()).hexdigest()})
    known = state.steps.get(f"source:{session.name}")
    path = Path(session.source)
    if known and state.file_unchanged(path):     # in place, our own writes changed it: still the same source
        return known["key"]
    return _hash({"nwb": state.digest(path)})


def key_of(kind: str, params, *upstream: str, **extra) -> str:
    """A step's key: its kind, parameters (as a dict), the keys it reads, and anything else it depends on."""
    params = dataclasses.asdict(params) if dataclasses.is_dataclass(params) else params
    return _hash({"kind": kind, "params": params, "upstream": list(upstream), "version": package_version(),
                  **extra})
