"""``--cluster`` and its job options: a Dask cluster nwb_it starts (here, or as SLURM/PBS/LSF jobs)."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import yaml

from ..core.errors import NwbItError
from ..core.params import CLUSTER_KINDS, ClusterParams, default

#: Flags whose values go into ClusterParams (flag dest -> field).
FIELDS = {"queue": "queue", "cores": "cores", "memory": "memory", "walltime": "walltime", "gpus": "gpus",
          "env_setup": "env_setup", "max_jobs": "max_jobs"}


def cluster_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("a cluster nwb-it starts (dask-jobqueue)")
    g.add_argument("--cluster", choices=CLUSTER_KINDS, default=default(ClusterParams, "kind"),
                   help="local: worker processes here (the default behaviour); slurm/pbs/lsf: one batch job per "
                        "worker, scaled with the number of files")
    g.add_argument("--cluster-config", type=Path, help="YAML with a 'cluster:' section (kind, queue, cores, memory, "
                   "walltime, gpus, env_setup, max_jobs); flags override it")
    g.add_argument("--queue", help="batch queue / partition")
    g.add_argument("--cores", type=int, help=f"cores per job (default {default(ClusterParams, 'cores')})")
    g.add_argument("--memory", help=f"memory per job (default {default(ClusterParams, 'memory')})")
    g.add_argument("--walltime", help=f"walltime per job (default {default(ClusterParams, 'walltime')})")
    g.add_argument("--gpus", type=int, help="GPUs per job: their workers declare the resource GPU and take the "
                   "model extraction")
    g.add_argument("--env-setup", action="append", help="a shell line each job runs before its worker (repeat it), "
                   "e.g. 'source ~/venvs/nwb_it/bin/activate'")
    g.add_argument("--max-jobs", type=int, help=f"most jobs at once (default {default(ClusterParams, 'max_jobs')})")
    g.add_argument("--print-job-script", action="store_true", help="print the batch script of one job and exit")


def cluster_params(args) -> ClusterParams | None:
    """The cluster the options ask for: the YAML's section, flags over it; None for today's local default."""
    values: dict = {}
    if getattr(args, "cluster_config", None):
        try:
            section = (yaml.safe_load(Path(args.cluster_config).read_text()) or {}).get("cluster") or {}
        except (OSError, yaml.YAMLError) as exc:
            raise NwbItError(f"cannot read the cluster configuration ({exc.__class__.__name__})",
                             args.cluster_config) from None
        unknown = set(section) - {f.name for f in dataclasses.fields(ClusterParams)}
        if unknown:
            raise NwbItError(f"unknown cluster setting(s): {', '.join(sorted(unknown))}", args.cluster_config)
        values.update(section)
    if getattr(args, "cluster", "local") != "local" or "kind" not in values:
        values["kind"] = getattr(args, "cluster", "local")
    for dest, name in FIELDS.items():
        given = getattr(args, dest, None)
        if given is not None:
            values[name] = given
    if isinstance(values.get("env_setup"), (list, str)):
        values["env_setup"] = tuple([values["env_setup"]] if isinstance(values["env_setup"], str)
                                    else values["env_setup"])
    params = ClusterParams(**values)
    return None if params.kind == "local" else params
