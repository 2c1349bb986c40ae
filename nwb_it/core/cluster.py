"""The parameters of a cluster nwb_it starts (``--cluster``): each value typed and range-checked here.

Every field ends up in a batch job script, so a value is checked before any cluster
exists: the right type (a YAML ``cores: "4"`` is not a number), a range (``max_jobs``,
``gpus`` whole numbers), a shape (``memory`` like ``16GB``, ``walltime`` like
``02:00:00``) and, for the fields that become ``#SBATCH``/``#PBS``/``#BSUB`` directives,
only the characters such values have: a newline in ``queue`` would end the directives
(SLURM stops reading ``#SBATCH`` lines there, silently dropping memory and walltime) and
start a shell line. ``env_setup`` lines are shell by design; each must be one line.

Examples
--------
>>> ClusterParams(kind="slurm", queue="gpu", memory="16GB", walltime="02:00:00").memory
'16GB'
>>> ClusterParams(kind="slurm", queue="gpu\\nrm -rf ~")
Traceback (most recent call last):
...
nwb_it.core.errors.InvalidParameter: `queue='gpu\\nrm -rf ~'`: only letters, digits and _ . , : @ + - ...
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidParameter

CLUSTER_KINDS = ("local", "slurm", "pbs", "lsf")
#: The command each batch system submits jobs with (checked before a cluster starts).
SUBMIT_COMMANDS = {"slurm": "sbatch", "pbs": "qsub", "lsf": "bsub"}

# matched with fullmatch: "$" alone lets a trailing newline through (a queue "gpu\n" passed, and ended a directive)
_NAME = re.compile(r"[A-Za-z0-9_.,:@+-]{1,128}")
_MEMORY = re.compile(r"(\d+(\.\d+)?)\s*(B|[KMGTP]i?B)", re.IGNORECASE)
_WALLTIME = re.compile(r"(\d{1,3}-)?\d{1,4}:\d{2}(:\d{2})?")
_INTERFACE = re.compile(r"[A-Za-z0-9_.:-]{1,32}")
_LIMITS = {"cores": (1, 1024), "max_jobs": (1, 10_000), "gpus": (0, 64)}


def _whole(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(name, f"`{name}={value!r}`: a whole number ({low} to {high})")
    if not low <= value <= high:
        raise InvalidParameter(name, f"`{name}={value}`: must be {low} to {high}")


@dataclass(frozen=True, kw_only=True)
class ClusterParams:
    """A Dask cluster nwb_it starts for many files (``--cluster``): here, or as batch jobs (dask-jobqueue).

    Parameters
    ----------
    kind : "local" (worker processes here), "slurm", "pbs" or "lsf"
    queue : the batch queue / partition
    account : the account / project jobs are charged to (SLURM/PBS ``-A``, LSF ``-P``)
    cores : cores per job (one worker per job), 1 to 1024
    memory : memory per job, e.g. "16GB" (above 0)
    walltime : per job, "HH:MM:SS", "HH:MM" or "D-HH:MM:SS"
    gpus : GPUs per job, 0 to 64; its worker then declares the resource ``GPU`` and takes the extraction
    env_setup : shell lines run before the worker starts (e.g. "source ~/venvs/nwb_it/bin/activate"), one each
    max_jobs : most jobs at once (the cluster scales between 0 and min(files, max_jobs)), 1 to 10000
    interface : the network interface the scheduler and workers talk on (e.g. "ib0" on a login node with
        several); None: Dask's choice
    """

    kind: str = "local"
    queue: str | None = None
    account: str | None = None
    cores: int = 1
    memory: str = "8GB"
    walltime: str = "01:00:00"
    gpus: int = 0
    env_setup: tuple[str, ...] = ()
    max_jobs: int = 16
    interface: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CLUSTER_KINDS:
            raise InvalidParameter("kind", f"`kind={self.kind}`: use {', '.join(CLUSTER_KINDS)}")
        for name, (low, high) in _LIMITS.items():
            _whole(name, getattr(self, name), low, high)
        for name in ("queue", "account"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _NAME.fullmatch(value)):
                raise InvalidParameter(name, f"`{name}={value!r}`: only letters, digits and _ . , : @ + - "
                                             f"(a batch {name}'s name)")
        memory = _MEMORY.fullmatch(self.memory) if isinstance(self.memory, str) else None
        if memory is None or not float(memory.group(1)) > 0:
            raise InvalidParameter("memory", f"`memory={self.memory!r}`: an amount above 0 such as 16GB or 512MB")
        if not (isinstance(self.walltime, str) and _WALLTIME.fullmatch(self.walltime)) or \
                not any(c in "123456789" for c in self.walltime):
            raise InvalidParameter("walltime", f"`walltime={self.walltime!r}`: a positive duration such as "
                                               "02:00:00 (HH:MM:SS), 90:00 or 1-12:00:00")
        if self.interface is not None and not (isinstance(self.interface, str)
                                               and _INTERFACE.fullmatch(self.interface)):
            raise InvalidParameter("interface", f"`interface={self.interface!r}`: a network interface name such as ib0")
        if not isinstance(self.env_setup, tuple) or not all(isinstance(line, str) for line in self.env_setup):
            raise InvalidParameter("env_setup", f"`env_setup={self.env_setup!r}`: shell lines (text), one each")
        for line in self.env_setup:
            if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in line):
                raise InvalidParameter("env_setup", f"`env_setup` line {line[:40]!r} holds a newline or control "
                                                    "character: give each shell line on its own")
