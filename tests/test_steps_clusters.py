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


@pytest.mark.parametrize("yaml_text, says", [
    ("cluster:\n  kind: slurm\n  queue: \"gpu\\n#SBATCH --mem=1\\nrm -rf ~\"\n", "cluster.queue"),
    ("cluster:\n  kind: slurm\n  account: \"lab\\necho hi\"\n", "cluster.account"),
    ("cluster:\n  kind: slurm\n  cores: \"4\"\n", "cluster.cores"),
    ("cluster:\n  kind: slurm\n  max_jobs: 1e9\n", "cluster.max_jobs"),
    ("cluster:\n  kind: slurm\n  memory: 0GB\n", "cluster.memory"),
    ("cluster:\n  kind: slurm\n  walltime: \"-5\"\n", "cluster.walltime"),
    ("cluster:\n  kind: pbs\n  gpus: 1.5\n", "cluster.gpus"),
    ("cluster:\n  kind: slurm\n  env_setup: {a: 1}\n", "cluster.env_setup"),
    ("cluster:\n  kind: slurm\n  interface: \"ib0; rm\"\n", "cluster.interface"),
    ("cluster: [1, 2]\n", "must be a mapping"),
    ("- 1\n- 2\n", "must be a mapping"),
    ("cluster:\n  kind: slurm\n  kind: pbs\n", "given twice"),
])
def test_every_bad_cluster_value_is_one_line_naming_the_file(capsys, tmp_path, yaml_text, says):
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml_text)
    assert main(["reliability", "x.nwb", "--cluster-config", str(config), "--print-job-script"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and str(config) in err[0], err


@pytest.mark.parametrize("flags, says", [(["--memory", "lots"], "--memory"), (["--queue", "a\nb"], "--queue"),
                                         (["--walltime", "0:00"], "--walltime"), (["--max-jobs", "0"], "--max-jobs")])
def test_bad_cluster_flags_are_one_line(capsys, flags, says):
    assert main(["reliability", "x.nwb", "--cluster", "slurm", *flags, "--print-job-script"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err


def test_a_missing_batch_command_is_one_line_not_a_hang(monkeypatch, tmp_path, capsys, small_nwb):
    import time

    monkeypatch.setenv("PATH", str(tmp_path))           # no sbatch here
    t0 = time.monotonic()
    assert main(["reliability", str(small_nwb), "--cluster", "slurm", "--n-perm", "20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert time.monotonic() - t0 < 30 and len(err) == 1 and "sbatch" in err[0], err


def test_the_interface_and_account_reach_the_job_script():
    script = job_script(ClusterParams(kind="slurm", queue="q", account="lab-42", interface="lo"))
    assert "#SBATCH -A lab-42" in script.splitlines() and "--interface lo" in script


hypothesis = pytest.importorskip("hypothesis")


@hypothesis.settings(max_examples=80, deadline=None)
@hypothesis.example(text="0\n")                  # found by this test: "$" let a trailing newline through
@hypothesis.given(text=hypothesis.strategies.text(min_size=1, max_size=30))
def test_no_queue_value_adds_a_line_to_the_job_script_property(text):
    """Whatever text a queue is given: refused, or one directive line in the script (never a line of its own)."""
    try:
        params = ClusterParams(kind="slurm", queue=text)
    except NwbItError:
        return
    lines = job_script(params).splitlines()
    reference = job_script(ClusterParams(kind="slurm", queue="q")).splitlines()
    assert len(lines) == len(reference) and f"#SBATCH -p {text}" in lines


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
