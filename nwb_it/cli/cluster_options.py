"""``--cluster`` and its job options: a Dask cluster nwb_it starts (here, or as SLURM/PBS/LSF jobs)."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import yaml

from ..core.errors import InvalidParameter, NwbItError
from ..core.params import CLUSTER_KINDS, ClusterParams, default
from ..nwb.metadata import UniqueKeyLoader

#: Flags whose values go into ClusterParams (flag dest -> field).
FIELDS = {"queue": "queue", "account": "account", "cores": "cores", "memory": "memory", "walltime": "walltime",
          "gpus": "gpus", "env_setup": "env_setup", "max_jobs": "max_jobs", "interface": "interface"}


def cluster_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("a cluster nwb-it starts (dask-jobqueue)")
    g.add_argument("--cluster", choices=CLUSTER_KINDS, default=default(ClusterParams, "kind"),
                   help="local: worker processes here (the default behaviour); slurm/pbs/lsf: one batch job per "
                        "worker, scaled with the number of files")
    g.add_argument("--cluster-config", type=Path, help="YAML with a 'cluster:' section (kind, queue, account, cores, "
                   "memory, walltime, gpus, env_setup, max_jobs, interface); flags override it")
    g.add_argument("--queue", help="batch queue / partition")
    g.add_argument("--account", help="account / project the jobs are charged to")
    g.add_argument("--interface", help="network interface of the scheduler and workers, e.g. ib0 (a login node "
                   "often has several)")
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
    config = getattr(args, "cluster_config", None)
    if config:
        try:
            data = yaml.load(Path(config).read_text(), Loader=UniqueKeyLoader) or {}    # safe: no tag executes
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            detail = str(exc).splitlines()[0] if isinstance(exc, yaml.constructor.ConstructorError) else \
                exc.__class__.__name__
            raise NwbItError(f"cannot read the cluster configuration ({detail})", config) from None
        section = data.get("cluster") if isinstance(data, dict) else None
        if section is None:
            section = {}
        if not isinstance(data, dict) or not isinstance(section, dict):
            raise NwbItError("the cluster configuration must be a mapping with a 'cluster:' mapping of settings "
                             "(kind, queue, cores, ...)", config)
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
    from_file = set(values) - {name for dest, name in FIELDS.items() if getattr(args, dest, None) is not None}
    try:
        params = ClusterParams(**values)
    except InvalidParameter as exc:
        if exc.field in from_file and config:                # blame the YAML, in its own words
            raise NwbItError(f"cluster.{exc.field}: {exc.problem.replace('`', '')}", config) from None
        raise
    return None if params.kind == "local" else params
