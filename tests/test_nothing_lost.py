"""Nothing lost, nothing silent: inputs are never overwritten, diverged models are never
results, run folders say what they hold, and what is odd is said.

The data-loss and divergence cases run the installed command in a real process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from lmam.cli import app
from lmam.data import create_dataset, save_dataset
from lmam.errors import LmamWarning, OptionError, RunError
from lmam.train import TrainConfig
from lmam.train.engine import FAILED, DivergedError, Trainer, train
from tests.test_cli import TINY
from tests.train.test_engine import config

CONVERSATIONS = (
    "dialogue,turn,speaker,text,label,split\n"
    "d1,0,A,I am so happy today,joy,train\n"
    "d1,1,B,that is terrible news,sadness,train\n"
    "d2,0,A,what a wonderful surprise,joy,train\n"
    "d2,1,B,I feel awful,sadness,train\n"
    "d3,0,A,great to see you,joy,test\n"
    "d3,1,B,this is so sad,sadness,test\n"
)


class Result:
    """What a command printed and its exit code (as a process would have them)."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def lmam(
    *args: object, cwd: Path | None = None, process: bool = False, env: dict | None = None
) -> Result:
    """``lmam ARGS`` in ``cwd``: in a real process (``process=True``: the installed
    command, as a user runs it) or in this one (typer's runner; faster)."""
    env = {"LMAM_CACHE": str((cwd or Path.cwd()) / "cache"), **(env or {})}
    if process:
        r = subprocess.run(
            [sys.executable, "-m", "lmam", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
        )
        return Result(r.returncode, r.stdout, r.stderr)
    from typer.testing import CliRunner

    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        r = CliRunner().invoke(app, [str(a) for a in args], env=env)
    finally:
        os.chdir(here)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Result(r.exit_code, r.stdout, r.stderr)


def one_error_line(r: Result) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny run."""
    out = tmp_path_factory.mktemp("finished")
    cfg = config(out, name="run", epochs=1)
    return Path(train(cfg, quiet=True)["run_dir"])


# -- 1. never overwrite an input ----------------------------------------------------
def test_features_refuse_to_write_over_their_input(tmp_path):
    talk = tmp_path / "talk.csv"
    talk.write_text(CONVERSATIONS)
    (tmp_path / "link.csv").symlink_to(talk)
    for out in ("talk.csv", "link.csv", "./sub/../talk.csv"):
        r = lmam("features", "text", "talk.csv", "--out", out, cwd=tmp_path, process=True)
        assert r.returncode == 2, r.stderr
        assert "never writes over what it reads" in one_error_line(r)
        assert talk.read_text() == CONVERSATIONS
    r = lmam("features", "audio", "talk.csv", "--out", "talk.csv", cwd=tmp_path)
    assert r.returncode == 2 and talk.read_text() == CONVERSATIONS


def test_export_and_predict_refuse_to_write_over_their_inputs(tmp_path, finished):
    data = save_dataset(create_dataset("synthetic", train=2, valid=1, test=1), tmp_path / "d.npz")
    before = Path(data).read_bytes()
    r = lmam("data", "export", data, data, cwd=tmp_path)
    assert r.returncode == 2 and "never writes over" in one_error_line(r)
    r = lmam("predict", finished, "--data", data, "--out", data, cwd=tmp_path)
    assert r.returncode == 2 and "never writes over" in one_error_line(r)
    assert Path(data).read_bytes() == before
    # a file of the run itself (its checkpoint or its records) is an input too
    model = finished / "best" / "model.json"
    kept = model.read_bytes()
    r = lmam("predict", finished, "--data", data, "--out", finished / "predictions.csv")
    assert r.returncode == 2 and "is a file of the input" in one_error_line(r)
    assert model.read_bytes() == kept


# -- 2. a diverged model is never a result ------------------------------------------
def test_divergence_stops_the_run_and_leaves_no_result(tmp_path):
    r = lmam(
        "train", *TINY, "--lr", "1e30", "--name", "nan", "--out-dir", "runs", cwd=tmp_path,
        process=True,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    line = one_error_line(r)
    run = tmp_path / "runs" / "nan"
    assert (run / FAILED).is_file() and not (run / "summary.json").exists()
    failed = json.loads((run / FAILED).read_text())
    assert failed["type"] == "DivergedError" and failed["epoch"] >= 1
    assert f"diverged at epoch {failed['epoch']}, step {failed['step']}:" in line
    # every command that would use it says so, none reports it as a result
    r = lmam("runs", "runs", cwd=tmp_path)
    assert r.returncode == 1 and "skipped" in r.stderr and "failed:" in r.stderr
    r = lmam("predict", run, "--data", "synthetic", "--out", "p.csv", cwd=tmp_path, process=True)
    assert r.returncode == 1 and "not a result" in one_error_line(r)
    assert not (tmp_path / "p.csv").exists()
    r = lmam("evaluate", run, cwd=tmp_path)
    assert r.returncode == 1 and "failed" in one_error_line(r)
    r = lmam("train", "--resume", run, cwd=tmp_path)
    assert r.returncode == 1 and "cannot be resumed" in one_error_line(r)


def test_an_infinite_learning_rate_is_refused_before_anything_runs(tmp_path):
    r = lmam("train", *TINY, "--lr", "inf", "--out-dir", "runs", cwd=tmp_path)
    assert r.returncode == 2 and "positive finite" in one_error_line(r)
    assert not (tmp_path / "runs").exists()


def test_a_nan_gradient_stops_at_its_step(tmp_path, monkeypatch):
    trainer = Trainer(config(tmp_path, name="g", epochs=2), quiet=True)
    real = torch.nn.utils.clip_grad_norm_
    calls = []

    def nan_on_third(params, max_norm, *a, **k):
        calls.append(max_norm)
        norm = real(params, max_norm, *a, **k)
        return torch.tensor(float("nan")) if len(calls) == 3 else norm

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", nan_on_third)
    with pytest.raises(DivergedError, match="epoch 1, step 3: the gradient norm is nan"):
        trainer.fit()
    assert not (trainer.run_dir / "best").exists()  # nothing of the epoch was kept
    assert json.loads((trainer.run_dir / FAILED).read_text())["step"] == 3


def test_predict_and_evaluate_refuse_non_finite_weights(tmp_path, finished):
    import shutil

    run = tmp_path / "broken"
    shutil.copytree(finished, run)
    path = run / "best" / "model.safetensors"
    weights = load_file(str(path))
    name = sorted(weights)[0]
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, str(path))
    for args in (["evaluate", run], ["predict", run, "--data", "synthetic", "--out", "p.csv"]):
        r = lmam(*args, cwd=tmp_path)
        assert r.returncode == 1
        assert f"weight {name} is not finite" in one_error_line(r)


def test_grad_clip_is_applied_at_every_step(tmp_path, monkeypatch):
    seen = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *a, **k):
        seen.append(max_norm)
        return real(params, max_norm, *a, **k)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    train(config(tmp_path, name="clip", epochs=1, grad_clip=0.25), quiet=True)
    assert seen and set(seen) == {0.25}
    with pytest.raises(OptionError, match="grad_clip must be a positive finite"):
        TrainConfig(grad_clip=0.0)


def test_a_growing_loss_is_warned_about(tmp_path):
    with pytest.warns(LmamWarning, match="times its first value"):
        train(config(tmp_path, name="grow", epochs=3, lr=1e6), quiet=True)


# -- 3. run folders that say what they hold -----------------------------------------
def test_run_folder_exists_only_after_every_check(tmp_path):
    for args in (["--seed", "-5"], ["--name", "../../x"], ["--modalities", "text,text"]):
        r = lmam("train", *TINY, *args, "--out-dir", "runs", cwd=tmp_path)
        assert r.returncode == 2, r.stderr
        one_error_line(r)
        assert not (tmp_path / "runs").exists()
    assert not (tmp_path.parent / "x").exists()


def test_a_taken_name_is_refused_or_overwritten_on_request(tmp_path):
    base = ["train", *TINY, "--epochs", "1", "--name", "X", "--out-dir", "runs"]
    assert lmam(*base, cwd=tmp_path).returncode == 0
    first = (tmp_path / "runs" / "X" / "metrics.json").read_text()
    r = lmam(*base, cwd=tmp_path)
    assert r.returncode == 1
    line = one_error_line(r)
    assert "--resume" in line and "--overwrite" in line
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["X"]
    assert (tmp_path / "runs" / "X" / "metrics.json").read_text() == first
    r = lmam(*base, "--overwrite", "--seed", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "seed: 1" in (tmp_path / "runs" / "X" / "config.yaml").read_text()
    # --overwrite replaces runs only, never another folder
    (tmp_path / "runs" / "notes").mkdir()
    (tmp_path / "runs" / "notes" / "mine.txt").write_text("keep me")
    r = lmam(*base[:-4], "--name", "notes", "--out-dir", "runs", "--overwrite", cwd=tmp_path)
    assert r.returncode == 1 and "not a run directory" in one_error_line(r)
    assert (tmp_path / "runs" / "notes" / "mine.txt").read_text() == "keep me"


def test_an_error_after_set_up_marks_the_run_failed(tmp_path, monkeypatch):
    trainer = Trainer(config(tmp_path, name="boom", epochs=2), quiet=True)

    def boom(epoch, model):
        raise ValueError("the disk is full")

    monkeypatch.setattr(trainer, "train_epoch", boom)
    with pytest.raises(ValueError, match="disk is full"):
        trainer.fit()
    failed = json.loads((trainer.run_dir / FAILED).read_text())
    assert failed["error"] == "the disk is full" and failed["epoch"] == 1
    r = lmam("runs", tmp_path)
    assert "failed at epoch 1: the disk is full" in r.stderr


def test_a_run_folder_removed_while_training_stops_the_run(tmp_path, monkeypatch):
    import shutil

    trainer = Trainer(config(tmp_path, name="gone", epochs=3), quiet=True)
    real = trainer.train_epoch

    def then_remove(epoch, model):
        out = real(epoch, model)
        if epoch == 2:
            shutil.rmtree(trainer.run_dir)
        return out

    monkeypatch.setattr(trainer, "train_epoch", then_remove)
    with pytest.raises(RunError, match="removed during training"):
        trainer.fit()
    assert not trainer.run_dir.exists()  # not quietly made again


def test_a_dataset_without_a_test_split_trains(tmp_path):
    ds = create_dataset("synthetic", train=1, valid=0, test=0)
    path = save_dataset(ds, tmp_path / "one.npz")
    r = lmam("train", "--dataset", path, "--select", "last", "--epochs", "1", "--quiet",
             "--out-dir", "runs", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (
        "no valid or test split" in r.stdout
        and "fixed 1 epoch,"
        in (tmp_path / "runs" / "one-bclstm-concat-early-s0" / "summary.json").read_text()
    )


# -- 4. output paths ------------------------------------------------------------------
def test_folders_are_made_only_where_asked(tmp_path, finished):
    far = tmp_path / "nowhere" / "deeper" / "p.csv"
    r = lmam("predict", finished, "--data", "synthetic", "--out", far)
    assert r.returncode == 2 and "no such folder" in one_error_line(r) and "--mkdir" in r.stderr
    assert not (tmp_path / "nowhere").exists()
    r = lmam("predict", finished, "--data", "synthetic", "--out", far, "--mkdir")
    assert r.returncode == 0 and far.is_file()
    # under the working directory, folders are made as before
    r = lmam("predict", finished, "--data", "synthetic", "--out", "a/b/p.csv", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "a" / "b" / "p.csv").is_file()


def test_an_out_dir_is_made_only_in_a_folder_that_exists(tmp_path):
    (tmp_path / "file").write_text("x")
    here = tmp_path / "here"  # the working directory, beside the folders asked for
    here.mkdir()
    for out_dir, said in (
        (tmp_path / "file", "is a file, not a folder"),
        (tmp_path / "no/deep", "no such"),
    ):
        r = lmam("train", *TINY, "--out-dir", out_dir, cwd=here)
        assert r.returncode == 2 and said in one_error_line(r)
    assert not (tmp_path / "no").exists()
    r = lmam("train", *TINY, "--epochs", "1", "--out-dir", tmp_path / "runs", cwd=here)
    assert r.returncode == 0 and (tmp_path / "runs").is_dir()  # one level, its parent exists


# -- 5. messages ----------------------------------------------------------------------
def test_file_contents_are_never_markup(tmp_path):
    (tmp_path / "passwd").write_text("root:x:0:0:[bold]root[/bold]:/root\n")
    r = lmam("data", "info", "passwd", cwd=tmp_path)
    assert r.returncode == 1
    assert "root:x:0:0:[bold]root[/bold]" in one_error_line(r)
    assert "\u274c" not in r.stderr  # ':x:' is not an emoji


def test_a_missing_data_set_names_every_place_looked(tmp_path):
    r = lmam("data", "info", "meld-csv", cwd=tmp_path, env={"LMAM_DATA": ""})
    line = one_error_line(r)
    assert str(tmp_path / "data" / "meld") in line and "shared/data/meld" in line  # both places
    assert "--data-path" in line and "LMAM_DATA" in line
    r = lmam("data", "info", "meld-csv", "--data-path", tmp_path / "none", cwd=tmp_path)
    assert r.returncode == 1 and str(tmp_path / "none") in one_error_line(r)


def test_results_go_to_stdout_and_logs_to_stderr(tmp_path):
    r = lmam("train", *TINY[:-1], "--epochs", "2", "--out-dir", "runs", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)  # nothing but the result on standard output
    assert summary["epochs_run"] == 2 and "test" in summary
    assert "valid weighted_f1" in r.stderr  # the progress bar
    for args in (["models", "--json"], ["fusions", "--json"], ["data", "info", "mosi", "--json"]):
        out = json.loads(lmam(*args, cwd=tmp_path).stdout)
        assert out


def test_raw_prediction_prints_no_third_party_progress(tmp_path):
    pytest.importorskip("sentence_transformers")
    (tmp_path / "talk.csv").write_text(CONVERSATIONS)
    r = lmam("features", "text", "talk.csv", "--out", "talk.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "6 utterances embedded" in r.stderr and "it/s" not in r.stderr
    r = lmam("train", "--dataset", "talk.npz", "--select", "last", "--epochs", "2", "--quiet",
             "--name", "t", "--out-dir", "runs", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = lmam(
        "predict", "runs/t", "talk.csv", "--out", "p.csv", "--quiet", cwd=tmp_path, process=True
    )
    assert r.returncode == 0, r.stderr
    assert "Loading" not in r.stderr and "it/s" not in r.stderr
    assert "wrote 6 predictions" in r.stderr
    assert "confusion matrix" in r.stdout and "weighted_f1" in r.stdout  # labelled: scored


# -- 6. odd settings are said ---------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"threads": (os.cpu_count() or 1) + 1}, "more threads than cores"),
        ({"patience": 3, "select": "last"}, "patience 3 has no effect"),
        ({"fusion": "lmam", "fusion_options": {"rank": 10_000}}, "above the widest input"),
    ],
)
def test_odd_settings_are_warned_about(tmp_path, changes, said):
    with pytest.warns(LmamWarning, match=said):
        Trainer(config(tmp_path, **changes), quiet=True)


@pytest.mark.parametrize("modalities", [[], [""], ["text", "text"]])
def test_empty_or_repeated_modalities_are_refused(modalities):
    with pytest.raises(OptionError, match="modalit"):
        TrainConfig(dataset="synthetic", modalities=modalities)


# -- 7. start-up ------------------------------------------------------------------------
def test_help_and_version_do_not_import_torch():
    code = (
        "import sys; from typer.testing import CliRunner; from lmam.cli import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "r = CliRunner().invoke(app, ['--version']); assert 'lmam' in r.output; "
        "print('torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_the_listed_help_of_every_lazy_command_is_its_own():
    from lmam.cli import LAZY, load_command

    for name, entry in LAZY.items():
        assert load_command(name).get_short_help_str(10_000) == entry.help, name


def test_h_is_help_everywhere():
    from typer.testing import CliRunner

    for args in (["-h"], ["train", "-h"], ["data", "info", "-h"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0 and "Usage:" in r.output, (args, r.output)


# -- 8. what users expect ---------------------------------------------------------------
def test_evaluate_scores_a_run_on_new_labelled_data(tmp_path, finished):
    data = save_dataset(create_dataset("synthetic", train=2, valid=1, test=2, seed=5),
                        tmp_path / "new.npz")  # fmt: skip
    r = lmam("evaluate", finished, "--data", data, "--json")
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)["metrics"]
    n = sum(len(c) for s in create_dataset("synthetic", train=2, valid=1, test=2, seed=5)
            .splits.values() for c in s)  # fmt: skip
    assert metrics["n"] == n and np.asarray(metrics["confusion_matrix"]).sum() == n
    r = lmam("evaluate", finished, "--data", data)
    assert "confusion matrix" in r.stdout and "per class" in r.stdout


def test_tensorboard_logs_read_back(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    summary = train(config(tmp_path, name="tb", epochs=3, tensorboard=True), quiet=True)
    acc = EventAccumulator(str(Path(summary["run_dir"]) / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    for tag in ("loss/train", "lr", "weighted_f1/valid", "accuracy/test"):
        assert tag in tags, tags
    loss = [e.value for e in acc.Scalars("loss/train")]
    history = json.loads((Path(summary["run_dir"]) / "metrics.json").read_text())["history"]
    assert loss == pytest.approx([h["loss"] for h in history])
    assert [e.step for e in acc.Scalars("lr")] == [1, 2, 3]


def test_cache_lists_and_clears_only_what_lmam_made(tmp_path):
    cache = tmp_path / "cache"
    (cache / "audio" / "eGeMAPSv02").mkdir(parents=True)
    (cache / "audio" / "eGeMAPSv02" / "k.npz").write_bytes(b"x" * 10)
    (cache / "talk-text-0123.npz").write_bytes(b"y" * 20)
    (cache / "mine.txt").write_text("not lmam's")
    env = {"LMAM_CACHE": str(cache), "LMAM_AUDIO_CACHE": str(cache / "audio")}

    def run(*args):
        return lmam("cache", *args, env=env)

    rows = json.loads(run("list", "--json").stdout)
    assert {(r["kind"], r["bytes"]) for r in rows} == {("text", 20), ("audio", 10)}
    r = run("clear")
    assert r.returncode == 2 and "--yes" in r.stderr  # asks first; no terminal: refuses
    r = run("clear", "--kind", "audio", "--yes")
    assert r.returncode == 0 and "removed 1 entry" in r.stderr
    assert not (cache / "audio" / "eGeMAPSv02").exists() and (cache / "talk-text-0123.npz").exists()
    run("clear", "--yes")
    assert sorted(p.name for p in cache.iterdir()) == ["audio", "mine.txt"]


# -- 9. the model's forward call --------------------------------------------------------
def test_forward_without_speakers_is_one_speaker():
    import lmam

    torch.manual_seed(0)
    model = lmam.create_model("dialoguernn", in_dims={"text": 6}, num_classes=3).eval()
    feats = {"text": torch.randn(2, 4, 6)}
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    same = model(feats, mask, torch.zeros(2, 4, dtype=torch.long))
    assert torch.equal(model(feats, mask), same)


@pytest.mark.parametrize(
    ("feats", "mask", "said"),
    [
        ({"text": torch.zeros(1, 0, 6)}, torch.zeros(1, 0, dtype=torch.bool), "no utterance"),
        ({"text": torch.zeros(0, 3, 6)}, torch.zeros(0, 3, dtype=torch.bool), "no utterance"),
        ({"text": torch.zeros(1, 3, 6)}, torch.ones(1, 3), "mask must be a bool tensor"),
        ({"text": torch.zeros(1, 3, 6)}, torch.ones(1, 4, dtype=torch.bool), "to match the mask"),
        ({"audio": torch.zeros(1, 3, 6)}, torch.ones(1, 3, dtype=torch.bool), "missing modality"),
    ],
)
def test_forward_refuses_bad_input_with_value_error(feats, mask, said):
    import lmam

    model = lmam.create_model("bclstm", in_dims={"text": 6}, num_classes=3)
    with pytest.raises(ValueError, match=said):
        model(feats, mask)
