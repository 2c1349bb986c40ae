"""Clusters nwb-it starts: the batch job script (no batch system here) and GPU placement on real Dask workers."""
from __future__ import annotations

import pytest

from nwb_it.cli import main
from nwb_it.core.errors import NwbItError
from nwb_it.core.params import ClusterParams
from nwb_it.steps.clusters import job_script, placement

pytest.importorskip("dask_jobqueue")


def test_the_slurm_job_script_has_queue_memory_gpus_and_environment(capsys, tmp_path):
    script = job_script(ClusterParams(kind="slurm", queue="gpu", cores=4, memory="16GB", walltime="02:00:00",
                                      gpus=2, env_setup=("module load cuda", "source ~/venvs/nwb_it/bin/activate")))
    lines = script.splitlines()
    assert "#SBATCH -p gpu" in lines and "#SBATCH --cpus-per-task=4" in lines and "#SBATCH -t 02:00:00" in lines
    assert any(line.startswith("#SBATCH --mem=") for line in lines) and "#SBATCH --gres=gpu:2" in lines
    assert lines.index("module load cuda") < lines.index("source ~/venvs/nwb_it/bin/activate") < len(lines) - 1
    assert "--resources GPU=2" in lines[-1], "the worker declares its GPUs"
    config = tmp_path / "cluster.yaml"
    config.write_text("cluster:\n  kind: pbs\n  queue: long\n  memory: 32GB\n  env_setup: [conda activate it]\n")
    assert main(["reliability", "x.nwb", "--cluster-config", str(config), "--cores", "8", "--print-job-script"]) == 0
    pbs = capsys.readouterr().out
    assert "#PBS -q long" in pbs and "ncpus=8" in pbs and "conda activate it" in pbs


def test_cluster_settings_are_checked(capsys, tmp_path):
    with pytest.raises(NwbItError, match="kind"):
        ClusterParams(kind="sge")
    assert main(["reliability", "x.nwb", "--print-job-script"]) == 2
    assert "needs --cluster" in capsys.readouterr().err
    bad = tmp_path / "c.yaml"
    bad.write_text("cluster:\n  queue: q\n  nodes: 4\n")
    assert main(["reliability", "x.nwb", "--cluster-config", str(bad), "--cluster", "slurm",
                 "--print-job-script"]) == 2
    assert "unknown cluster setting(s): nodes" in capsys.readouterr().err


def test_extraction_goes_to_the_gpu_worker_and_analyses_elsewhere():
    """A cluster with one CPU-only worker and one declaring GPU (as --gpus makes batch workers do)."""
    from distributed import Client, Scheduler, SpecCluster, Worker, get_worker

    workers = {"cpu": {"cls": Worker, "options": {"nthreads": 1}},
               "gpu": {"cls": Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}}}}
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": None, "host": "127.0.0.1"}}
    with SpecCluster(workers=workers, scheduler=scheduler) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        name = lambda _=None: get_worker().name  # noqa: E731
        extraction = [client.submit(name, i, pure=False, **placement(client, gpu=True)) for i in range(6)]
        analyses = client.map(name, range(6), pure=False, **placement(client, gpu=False))
        assert set(client.gather(extraction)) == {"gpu"}
        assert set(client.gather(analyses)) == {"cpu"}
    with SpecCluster(workers={"a": workers["cpu"]}, scheduler=scheduler) as cluster, Client(cluster) as client:
        client.wait_for_workers(1)
        assert placement(client, gpu=True) == {} and placement(client, gpu=False) == {}, "no GPU: no constraint"
