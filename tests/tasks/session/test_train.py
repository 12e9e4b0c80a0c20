"""A tiny end-to-end DHCN / DHCN* training on a synthetic session set, resumed (also
from a mid-epoch checkpoint), via the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from lmam.cli import app
from lmam.tasks.session.data import load_sessions
from lmam.tasks.session.model import DHCN
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


class Killed(Exception):
    """Stands for the process being stopped."""


def killed_at(trainer: SessionTrainer, call: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ``trainer.fit()`` until its ``call``-th training batch, which raises ``Killed``."""
    loss = DHCN.loss
    calls = {"n": 0}

    def counted(self: DHCN, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise Killed
        return loss(self, *args)

    with monkeypatch.context() as m:
        m.setattr(DHCN, "loss", counted)
        with pytest.raises(Killed):
            trainer.fit()


@pytest.mark.parametrize("lmam", [False, True])
def test_a_run_killed_mid_epoch_continues_from_its_checkpoint_as_if_never_stopped(
    session_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lmam: bool
) -> None:
    def config(name: str) -> SessionConfig:
        return SessionConfig(
            data_dir=str(session_dir), out_dir=str(tmp_path / "runs"), name=name, epochs=2,
            dim=16, batch_size=16, lmam=lmam, lmam_rank=4, lr=0.01, checkpoint_batches=3,
        )  # fmt: skip

    data = load_sessions(session_dir)
    num_batches = -(-len(data.train) // 16)
    assert num_batches >= 8  # so epoch 2 has checkpoints after batches 3 and 6
    straight = SessionTrainer(config("straight"), data=data, log=False).fit()

    # kill the run in epoch 2, after 7 batches: the checkpoint after batch 6 is the last
    killed_at(SessionTrainer(config("killed"), data=data, log=False), num_batches + 8, monkeypatch)
    run = tmp_path / "runs" / "killed"
    partial = json.loads((run / "state" / "partial.json").read_text())
    assert (partial["epoch"], partial["batches"]) == (2, 6)
    assert [p.name for p in (run / "state").glob("partial-*")] == ["partial-0002-0000006"]

    resumed = SessionTrainer(config("killed"), run_dir=run, resume=True, data=data, log=False)
    assert resumed.start_epoch == 2
    summary = resumed.fit()
    assert summary["epochs_run"] == 2
    h1 = json.loads((run / "metrics.json").read_text())["history"]
    h2 = json.loads((Path(straight["run_dir"]) / "metrics.json").read_text())["history"]
    for a, b in zip(h1, h2, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)
        assert a["valid"] == pytest.approx(b["valid"], rel=1e-6)
    w1 = load_file(str(run / "state" / "epoch-0002" / "model.safetensors"))
    w2 = load_file(str(Path(straight["run_dir"]) / "state" / "epoch-0002" / "model.safetensors"))
    for k in w2:
        torch.testing.assert_close(w1[k], w2[k], rtol=1e-5, atol=1e-6)
    # the completed epoch removed the mid-epoch checkpoint
    assert not (run / "state" / "partial.json").exists()
    assert not list((run / "state").glob("partial-*"))


def test_a_run_killed_in_its_first_epoch_resumes(
    session_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SessionConfig(
        data_dir=str(session_dir), out_dir=str(tmp_path), name="r", epochs=1, dim=16,
        batch_size=16, checkpoint_batches=2,
    )  # fmt: skip
    killed_at(SessionTrainer(config, log=False), 4, monkeypatch)
    assert not (tmp_path / "r" / "state" / "progress.json").exists()
    runner = CliRunner()
    r = runner.invoke(app, ["session", "train", "--resume", str(tmp_path / "r"), "--epochs", "1"])
    assert r.exit_code == 0, r.output
    assert "epoch 1: continuing after batch 2 of" in r.output
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["epochs_run"] == 1
    # a directory with no checkpoint at all is refused clearly
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["session", "train", "--resume", str(tmp_path / "empty")])
    assert r.exit_code != 0 and "no such file" in r.output


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
        app,
        ["session", "train", "--resume", str(tmp_path / "r"), "--epochs", "2", "--threads", "2"],
    )
    assert result.exit_code == 0, result.output
    # the threads given on resume are the run's from then on, and each epoch says its own
    assert "threads: 2" in (tmp_path / "r" / "config.yaml").read_text()
    history = json.loads((tmp_path / "r" / "metrics.json").read_text())["history"]
    assert [h["threads"] for h in history] == [1, 2]
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
