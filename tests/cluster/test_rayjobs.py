"""Ray Jobs API submission: what the job carries, and a cluster that cannot be reached (no Ray started)."""

from __future__ import annotations

import pytest

from servers import free_port
from trainaction.cluster.rayjobs import driver_entrypoint, runtime_env, submit_ray_job
from trainaction.errors import TrainActionError


def test_the_plugin_folder_travels_as_working_dir_and_its_requirements_as_pip(tmp_path):
    (tmp_path / "plugin.py").write_text("def train(run, dataset, hyperparameter, checkpoint): pass\n")
    env = runtime_env(tmp_path, "http://server:8765", "ta_secret")
    assert env == {
        "working_dir": str(tmp_path),
        "env_vars": {
            "TRAINACTION_BACKEND": "http://server:8765",
            "TRAINACTION_TOKEN": "ta_secret",
            "RAY_JOB_STOP_WAIT_TIME_S": "120",  # time for the driver to record STOPPED before Ray's SIGKILL
        },
    }
    (tmp_path / "requirements.txt").write_text("numpy\n")
    assert runtime_env(tmp_path, "http://server:8765", "ta_secret")["pip"] == str(tmp_path / "requirements.txt")


def test_the_entrypoint_runs_the_driver_and_never_holds_the_token():
    assert driver_entrypoint(7) == "python -m trainaction.cluster.driver --job-id 7"


def test_an_unreachable_cluster_names_the_address_and_the_forms_it_takes(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    address = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrainActionError, match=r"--ray-address: cannot reach .*http://HOST:8265.*ray://HOST:10001"):
        submit_ray_job(address, 1, tmp_path, "http://server:8765", "ta_secret")


def test_a_plugin_that_is_not_a_folder_is_refused(tmp_path):
    with pytest.raises(TrainActionError, match="--plugin: .* is not a folder"):
        submit_ray_job("http://127.0.0.1:1", 1, tmp_path / "missing", "http://server:8765", "ta_secret")
