"""The command line: bad input ends with a clear message and exit code 2, no traceback."""

import subprocess
import sys


def lmam(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "lmam", *args], capture_output=True, text=True, cwd=cwd
    )


def test_unknown_dataset_is_one_clear_line(tmp_path):
    r = lmam("train", "--dataset", "nope", "--quiet", "--out-dir", str(tmp_path))
    assert r.returncode == 2
    assert "error:" in r.stderr and "nope" in r.stderr and "synthetic" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_option_and_missing_run(tmp_path):
    r = lmam("train", "--dataset", "synthetic", "--loss", "hinge", "--out-dir", str(tmp_path))
    assert r.returncode == 2 and "loss must be one of" in r.stderr
    r = lmam("evaluate", str(tmp_path / "no-run"))
    assert r.returncode == 2 and "no checkpoint" in r.stderr
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
