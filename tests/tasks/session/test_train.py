"""A tiny end-to-end DHCN / DHCN* training on a synthetic session set, resumed, via the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from lmam.cli import app
from lmam.tasks.session.data import load_sessions
from lmam.tasks.session.train import SessionConfig, SessionTrainer, build_model, evaluate


@pytest.mark.parametrize("lmam", [False, True])
def test_train_select_resume(session_dir: Path, tmp_path: Path, lmam: bool) -> None:
    config = SessionConfig(
        data_dir=str(session_dir), out_dir=str(tmp_path / "runs"), epochs=2, dim=16,
        batch_size=16, lmam=lmam, lmam_rank=4, lr=0.01,
    )  # fmt: skip
    summary = SessionTrainer(config, log=False).fit()
    run = Path(summary["run_dir"])
    assert (run / "best" / "model.safetensors").exists() and (run / "config.yaml").exists()
    assert summary["epochs_run"] == 2 and set(summary["test"]) >= {"P@20", "MRR@5"}
    # resume to 3 epochs equals a straight 3-epoch run
    config.epochs = 3
    resumed = SessionTrainer(config, run_dir=run, resume=True, log=False).fit()
    straight = SessionTrainer(
        SessionConfig(**{**config.__dict__, "name": "straight"}), log=False
    ).fit()
    assert resumed["epochs_run"] == 3
    h1 = json.loads((run / "metrics.json").read_text())["history"][-1]
    h2 = json.loads((Path(straight["run_dir"]) / "metrics.json").read_text())["history"][-1]
    assert h1["loss"] == pytest.approx(h2["loss"], rel=1e-5)


def test_training_learns_the_pattern(session_dir: Path, tmp_path: Path) -> None:
    config = SessionConfig(
        data_dir=str(session_dir), out_dir=str(tmp_path), epochs=8, dim=16, batch_size=8, lr=0.02
    )
    data = load_sessions(session_dir)
    before = evaluate(build_model(config, data), data.test)
    summary = SessionTrainer(config, data=data, log=False).fit()
    assert summary["test"]["P@5"] > before["P@5"]
    assert summary["test"]["P@5"] > 30.0  # chance is 5 / 30


def test_cli_train_evaluate_and_errors(session_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["session", "train", "--data-dir", str(session_dir), "--epochs", "1", "--dim", "8"]
    result = runner.invoke(app, [*args, "--out-dir", str(tmp_path), "--name", "r", "--lmam"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["session", "evaluate", str(tmp_path / "r")])
    assert result.exit_code == 0 and "MRR@20" in result.output
    result = runner.invoke(
        app, ["session", "train", "--resume", str(tmp_path / "r"), "--epochs", "2"]
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["session", "train", "--data-dir", str(tmp_path / "none")])
    assert bad.exit_code == 1 and "no such folder" in bad.output
    bad = runner.invoke(app, [*args, "--batch-size", "0"])
    assert bad.exit_code == 2 and "batch_size must be >= 1" in bad.output
    bad = runner.invoke(app, ["session", "evaluate", str(tmp_path)])
    assert bad.exit_code == 1 and "config.yaml" in bad.output
    # the device: recorded with the run, checked before any data is read
    assert "device: cpu" in (tmp_path / "r" / "config.yaml").read_text()
    result = runner.invoke(app, ["session", "evaluate", str(tmp_path / "r"), "--device", "cpu"])
    assert result.exit_code == 0 and "MRR@20" in result.output
    bad = runner.invoke(app, [*args, "--device", "tpu", "--data-dir", str(tmp_path / "none")])
    assert bad.exit_code == 2
    assert "device must be cpu, cuda, cuda:N, mps or auto, got 'tpu'" in bad.output
    bad = runner.invoke(app, ["session", "evaluate", str(tmp_path / "r"), "--device", "tpu"])
    assert bad.exit_code == 2 and "got 'tpu'" in bad.output
    if not torch.cuda.is_available():
        bad = runner.invoke(app, [*args, "--device", "cuda"])
        assert bad.exit_code == 2 and "CUDA is not available here" in bad.output
    assert torch.get_num_threads() >= 1


def test_cli_time(session_dir: Path) -> None:
    runner = CliRunner()
    args = ["session", "time", "--data-dir", str(session_dir), "--batch-size", "8"]
    result = runner.invoke(app, [*args, "--batches", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["batches_timed"] == 2
    bad = runner.invoke(app, [*args, "--batches", "500"])
    assert bad.exit_code == 2 and "too few training batches" in bad.output
