"""The command line: bad input ends with a clear message and exit code 2, no traceback."""

import json
import subprocess
import sys

import pytest


def lmam(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "lmam", *args], capture_output=True, text=True, cwd=cwd
    )


def test_unknown_dataset_is_one_clear_line(tmp_path):
    r = lmam("train", "--dataset", "nope", "--quiet", "--out-dir", str(tmp_path))
    assert r.returncode == 1
    assert "error:" in r.stderr and "nope" in r.stderr and "synthetic" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_option_and_missing_run(tmp_path):
    r = lmam("train", "--dataset", "synthetic", "--loss", "hinge", "--out-dir", str(tmp_path))
    assert r.returncode == 2 and "loss must be one of" in r.stderr
    r = lmam("evaluate", str(tmp_path / "no-run"))
    assert r.returncode == 1 and "no such run directory" in r.stderr
    assert "Traceback" not in r.stderr


def test_train_then_evaluate_from_the_command_line(tmp_path):
    r = lmam(
        "train",
        "--dataset",
        "synthetic",
        "--data-opt",
        "train=8",
        "--data-opt",
        "valid=4",
        "--data-opt",
        "test=4",
        "--epochs",
        "1",
        "--model-opt",
        "hidden=4",
        "--model-opt",
        "dense=4",
        "--fusion",
        "lmam",
        "--fusion-opt",
        "rank=3",
        "--embed",
        "late",
        "--out-dir",
        str(tmp_path),
        "--name",
        "cli",
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    assert "selection: valid" in r.stdout
    r = lmam("evaluate", str(tmp_path / "cli"))
    assert r.returncode == 0 and "identical" in r.stdout
    assert "rank: 3" in (tmp_path / "cli" / "config.yaml").read_text()


# -- flags, config files and resume ---------------------------------------------------
TINY = [
    "--dataset",
    "synthetic",
    "--data-opt",
    "train=4",
    "--data-opt",
    "valid=2",
    "--data-opt",
    "test=2",
    "--model-opt",
    "hidden=4",
    "--model-opt",
    "dense=4",
    "--quiet",
]


def invoke(*args):
    from typer.testing import CliRunner

    from lmam.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_flags_override_the_config_file(tmp_path):
    import yaml

    from lmam.train import TrainConfig

    base = TrainConfig(
        dataset="synthetic",
        dataset_options={"train": 4, "valid": 2, "test": 2},
        model_options={"hidden": 4, "dense": 4},
        fusion="concat",
        fusion_options={},
        epochs=3,
        seed=0,
    )
    base.dump(tmp_path / "base.yaml")
    r = invoke(
        "train", "--config", tmp_path / "base.yaml", "--epochs", "2", "--fusion", "lmam",
        "--fusion-opt", "rank=3", "--fusion-opt", "dropout=1e-1", "--seed", "7", "--name", "t",
        "--model-opt", "dense=5", "--out-dir", tmp_path, "--quiet",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    cfg = yaml.safe_load((tmp_path / "t" / "config.yaml").read_text())
    assert (cfg["epochs"], cfg["fusion"], cfg["seed"]) == (2, "lmam", 7)
    assert cfg["fusion_options"] == {"rank": 3, "dropout": 0.1}  # 1e-1 is a number
    assert cfg["model_options"] == {"hidden": 4, "dense": 5}  # merged key by key
    assert cfg["dataset_options"] == {"train": 4, "valid": 2, "test": 2}  # from the file
    history = json.loads((tmp_path / "t" / "metrics.json").read_text())["history"]
    assert len(history) == 2


def test_scientific_notation_in_a_config_file(tmp_path):
    from lmam.train import TrainConfig

    (tmp_path / "c.yaml").write_text(
        "dataset: synthetic\nlr: 1e-3\nweight_decay: 5E-6\nfusion_options: {scale: 1e-3}\n"
    )
    cfg = TrainConfig.load(tmp_path / "c.yaml")
    assert (cfg.lr, cfg.weight_decay, cfg.fusion_options["scale"]) == (1e-3, 5e-6, 1e-3)


def test_resume_extends_a_finished_run_with_epochs(tmp_path):
    assert (
        invoke("train", *TINY, "--epochs", "1", "--out-dir", tmp_path, "--name", "r").exit_code == 0
    )
    run = tmp_path / "r"
    r = invoke("train", "--resume", run)
    assert r.exit_code == 0 and "nothing to train" in r.output
    r = invoke("train", "--resume", run, "--epochs", "3", "--threads", "1")
    assert r.exit_code == 0, r.output
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert "epochs: 3" in (run / "config.yaml").read_text()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs_run"] == 3 and summary["threads"] == [1]


def test_version_models_and_exit_codes():
    import lmam

    r = invoke("--version")
    assert r.exit_code == 0 and r.output.strip() == f"lmam {lmam.__version__}"
    r = invoke("models")
    assert r.exit_code == 0 and "bclstm" in r.output
    for name in ("create_model", "list_models", "register_backbone"):
        assert hasattr(lmam, name)
    assert invoke("train", "--no-such-flag").exit_code == 2


def test_runs_are_portable_and_readable_by_others(tmp_path, monkeypatch):
    """A relative data path is stored absolute; files get the umask's mode, not 0600."""
    import os

    from lmam.data import create_dataset, save_dataset

    work = tmp_path / "work"
    work.mkdir()
    save_dataset(create_dataset("synthetic", train=4, valid=2, test=2), work / "d.npz")
    monkeypatch.chdir(work)
    old = os.umask(0o022)
    try:
        r = invoke(
            "train", "--dataset", "d.npz", "--epochs", "1", "--model-opt", "hidden=4",
            "--model-opt", "dense=4", "--out-dir", "runs", "--name", "p", "--quiet",
        )  # fmt: skip
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    run = work / "runs" / "p"
    assert f"dataset: {work / 'd.npz'}" in (run / "config.yaml").read_text()
    for f in ("config.yaml", "summary.json", "best/model.safetensors", "predictions.csv"):
        assert (run / f).stat().st_mode & 0o777 == 0o644, f
    monkeypatch.chdir(tmp_path)
    r = invoke("evaluate", run)
    assert r.exit_code == 0 and "identical" in r.output


def test_a_regression_dataset_trains_with_mse_by_default(tmp_path):
    import numpy as np

    from lmam.data import Conversation, ConversationDataset, save_dataset

    rng = np.random.default_rng(0)

    def conv(k):
        n = 3
        return Conversation(
            id=f"d{k}",
            feats={"text": rng.normal(size=(n, 4)).astype(np.float32)},
            speakers=np.zeros(n, np.int64),
            labels=rng.normal(size=n).astype(np.float32),
        )

    ds = ConversationDataset(
        name="reg",
        splits={"train": [conv(k) for k in range(4)], "valid": [conv(9)], "test": [conv(8)]},
        label_names=[],
        modalities={"text": 4},
        task="regression",
    )
    save_dataset(ds, tmp_path / "reg.npz")
    r = invoke(
        "train", "--dataset", tmp_path / "reg.npz", "--epochs", "1", "--model-opt", "hidden=4",
        "--model-opt", "dense=4", "--out-dir", tmp_path, "--name", "reg", "--quiet",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "reg" / "summary.json").read_text())
    assert summary["loss"] == "mse" and summary["metric"] == "mae"


def test_ctrl_c_says_how_to_resume(tmp_path):
    """SIGINT after the first epoch: exit 130, one hint naming --resume, the epoch kept."""
    import signal
    import time

    # Ctrl-C as at a terminal: a suite started as a background job (cmd &) ignores
    # SIGINT, and a child would inherit that and never see the signal
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmam", "train", *TINY, "--data-opt", "train=64", "--epochs",
         "500", "--out-dir", str(tmp_path), "--name", "int"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    progress = tmp_path / "int" / "state" / "progress.json"
    deadline = time.monotonic() + 120
    while not progress.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    reached = progress.exists()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # say what the process was doing (seen once in CI)
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(
            f"no exit within 60 s of SIGINT (first epoch saved before it: {reached}); "
            f"stdout {out[-2000:]!r}; stderr {err[-2000:]!r}"
        )
    assert proc.returncode == 130, err
    assert f"continue with: lmam train --resume {tmp_path / 'int'}" in err
    assert "Traceback" not in err


def test_a_recipe_is_a_starting_point_that_flags_override(tmp_path):
    import yaml

    from lmam.train.recipes import RECIPES

    r = invoke(
        "train", "--recipe", "cima", *TINY, "--epochs", "1", "--model-opt", "hidden=4",
        "--out-dir", tmp_path, "--name", "c",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    cfg = yaml.safe_load((tmp_path / "c" / "config.yaml").read_text())
    recipe = RECIPES["cima"].settings
    assert cfg["fusion"] == "mmmu_ba" and cfg["batch_size"] == recipe["batch_size"]
    assert cfg["epochs"] == 1 and cfg["model_options"]["hidden"] == 4
    assert cfg["model_options"]["recurrent_dropout"] == 0.5  # kept from the recipe
    r = invoke("recipes")
    assert r.exit_code == 0 and "Ghosal" in r.output
