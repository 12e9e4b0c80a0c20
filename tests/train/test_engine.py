"""The training engine: determinism, resume, selection, evaluation, distributed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from lmam.data import DataError, create_dataset
from lmam.errors import OptionError
from lmam.train import TrainConfig, Trainer, resume, train
from lmam.train.engine import TEST_SELECTION_LABEL
from lmam.train.inference import check_compatible, evaluate_run
from tests.conftest import DEVICES

SMALL = {"hidden": 8, "dense": 8}


def config(tmp_path: Path, **kw) -> TrainConfig:
    base = dict(
        dataset="synthetic",
        dataset_options={"train": 24, "valid": 8, "test": 8},
        epochs=3,
        batch_size=8,
        model_options=SMALL,
        out_dir=str(tmp_path),
        threads=1,
    )
    base.update(kw)
    return TrainConfig(**base)


def weights(run_dir: Path, sub: str = "best") -> dict[str, torch.Tensor]:
    return load_file(str(Path(run_dir) / sub / "model.safetensors"))


def test_same_seed_same_metrics_and_run_directory_contents(tmp_path):
    a = train(config(tmp_path, name="a", fusion="lmam", embed="early_residual"), quiet=True)
    b = train(config(tmp_path, name="b", fusion="lmam", embed="early_residual"), quiet=True)
    c = train(config(tmp_path, name="c", fusion="lmam", embed="early_residual", seed=1), quiet=True)
    assert a["test"] == b["test"] and a["valid"] == b["valid"]
    wa, wc = weights(a["run_dir"]), weights(c["run_dir"])
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)  # another seed, another model
    run = Path(a["run_dir"])
    # (the test metrics of two seeds may coincide when both predict one class)
    for f in (
        "config.yaml",
        "metrics.json",
        "summary.json",
        "predictions.csv",
        "confusion.csv",
        "best/model.safetensors",
        "best/model.json",
    ):
        assert (run / f).exists(), f
    assert TrainConfig.load(run / "config.yaml") == config(
        tmp_path, name="a", fusion="lmam", embed="early_residual"
    )
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert all({"train", "valid", "test"} <= set(h) for h in history)
    lines = (run / "predictions.csv").read_text().splitlines()
    assert lines[0].startswith("dialogue,utterance,label,prediction,p_class0")
    n_test = sum(len(c) for c in create_dataset("synthetic", train=24, valid=8, test=8).test)
    assert len(lines) == 1 + n_test


def test_resume_after_a_crash_mid_epoch_ends_like_an_uninterrupted_run(tmp_path, monkeypatch):
    full = train(config(tmp_path, name="full", epochs=4, fusion="lmam"), quiet=True)
    calls = {"n": 0}
    original = Trainer._batch_loss

    def crash_in_epoch_three(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2 * 3 + 2:  # 3 batches per epoch: the 2nd batch of epoch 3
            raise KeyboardInterrupt("killed")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_batch_loss", crash_in_epoch_three)
    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path, name="crashed", epochs=4, fusion="lmam"), quiet=True)
    monkeypatch.setattr(Trainer, "_batch_loss", original)
    run = tmp_path / "crashed"
    progress = json.loads((run / "state" / "progress.json").read_text())
    assert progress["epoch"] == 2
    assert not list(run.rglob("*.tmp"))  # nothing half-written
    resumed = resume(run, quiet=True)
    assert resumed["test"] == full["test"] and resumed["best_epoch"] == full["best_epoch"]
    for k, v in weights(full["run_dir"]).items():
        torch.testing.assert_close(weights(run)[k], v, rtol=0, atol=0)


def test_evaluate_reproduces_recorded_metrics_exactly(tmp_path):
    summary = train(config(tmp_path, name="ev", fusion="lmam", embed="late"), quiet=True)
    result = evaluate_run(Path(summary["run_dir"]))
    assert result["identical"], result


def test_selection_modes_are_labelled(tmp_path):
    last = train(config(tmp_path, name="last", select="last"), quiet=True)
    assert last["best_epoch"] == 3 and last["selection"].startswith("last")
    test = train(config(tmp_path, name="test", select="test"), quiet=True)
    assert test["selection"] == TEST_SELECTION_LABEL
    history = json.loads((Path(test["run_dir"]) / "metrics.json").read_text())
    assert history["selection"] == TEST_SELECTION_LABEL
    best = max(h["test"]["weighted_f1"] for h in history["history"])
    assert test["test"]["weighted_f1"] == best
    valid = train(config(tmp_path, name="valid", epochs=6, patience=1, lr=0.05), quiet=True)
    hist = json.loads((Path(valid["run_dir"]) / "metrics.json").read_text())["history"]
    chosen = max(hist, key=lambda h: h["valid"]["weighted_f1"])
    assert valid["best_epoch"] == chosen["epoch"]
    assert valid["test"] == chosen["test"]


@pytest.mark.parametrize("loss", ["weighted_ce", "focal"])
def test_other_losses_train(tmp_path, loss):
    s = train(config(tmp_path, name=loss, loss=loss, epochs=1), quiet=True)
    assert 0.0 <= s["test"]["accuracy"] <= 1.0


def test_bad_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="loss"):
        config(tmp_path, loss="hinge")
    with pytest.raises(ValueError, match="classification"):
        Trainer(config(tmp_path, loss="mse"))
    with pytest.raises(ValueError, match=r"unknown config key .datset. \(did you mean .dataset"):
        TrainConfig.from_dict({"datset": "x"})


def test_modality_dropout_drops_only_that_modality_while_training(tmp_path, monkeypatch):
    seen: list[dict[str, float]] = []
    trainer = Trainer(config(tmp_path, name="md", modality_dropout={"audio": 0.5}, epochs=1))
    forward = trainer.model.forward

    def spy(feats, mask, speakers):
        real = mask.bool()
        seen.append({m: float((x[real] == 0).float().mean()) for m, x in feats.items()})
        return forward(feats, mask, speakers)

    monkeypatch.setattr(trainer.model, "forward", spy)
    trainer.fit()
    assert 0.35 < seen[0]["audio"] < 0.65 and seen[0]["text"] < 0.01
    assert seen[-1]["audio"] < 0.01  # the last forward passes are evaluation: untouched


def test_modality_dropout_is_checked(tmp_path):
    with pytest.raises(ValueError, match=r"modality_dropout of 'audio' must be in \[0, 1\)"):
        config(tmp_path, modality_dropout={"audio": 1.5})
    with pytest.raises(ValueError, match="the run has no modality 'smell'; it has text"):
        Trainer(config(tmp_path, modality_dropout={"smell": 0.1}))


def test_predict_refuses_data_of_other_widths():
    ds = create_dataset("synthetic", train=2, valid=1, test=1)
    check_compatible(ds, dict(ds.modalities), "new.npz")
    with pytest.raises(DataError, match=r"new.npz: field 'audio': .*width 9.*width 8"):
        check_compatible(ds, {**ds.modalities, "audio": 9}, "new.npz")
    with pytest.raises(DataError, match="missing"):
        check_compatible(ds.select_modalities(["text"]), dict(ds.modalities), "new.npz")


def test_learns_the_synthetic_task(tmp_path):
    """Context and two modalities are needed; bc-LSTM with LMAM gets well above chance (0.25)."""
    s = train(
        TrainConfig(
            dataset="synthetic",
            epochs=12,
            fusion="lmam",
            embed="early_residual",
            model_options={"hidden": 32, "dense": 32},
            dropout=0.0,
            lr=3e-3,
            out_dir=str(tmp_path),
            threads=1,
        ),
        quiet=True,
    )
    assert s["test"]["accuracy"] > 0.6


def test_two_processes_match_one(tmp_path):
    """torchrun with 2 processes (gloo) = one process with the same global batch, on
    length-bucketed batches (random batches: the test over every fusion below)."""
    common = [
        "--batching",
        "bucketed",
        "--dataset",
        "synthetic",
        "--data-opt",
        "train=24",
        "--data-opt",
        "valid=8",
        "--data-opt",
        "test=8",
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--dropout",
        "0",
        "--model-opt",
        "hidden=8",
        "--model-opt",
        "dense=8",
        "--fusion",
        "lmam",
        "--threads",
        "1",
        "--out-dir",
        str(tmp_path),
        "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "lmam", "train", *common, "--name", "one"], check=True, env=env
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29517",
            "-m",
            "lmam",
            "train",
            *common,
            "--name",
            "two",
        ],
        check=True,
        env=env,
        timeout=300,
    )
    one = json.loads((tmp_path / "one" / "summary.json").read_text())
    two = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert not (tmp_path / "two-2").exists()  # rank 1 wrote nothing of its own
    for k, v in weights(tmp_path / "one").items():
        torch.testing.assert_close(weights(tmp_path / "two")[k], v, atol=1e-4, rtol=1e-4)
    assert one["best_epoch"] == two["best_epoch"]
    assert np.isclose(one["test"]["accuracy"], two["test"]["accuracy"], atol=0.02)
    assert one["test"]["n"] == two["test"]["n"]


DDP_WORKER = """
import os
import sys

import torch.distributed as dist

from lmam import list_fusions
from lmam.train import TrainConfig, Trainer

if "WORLD_SIZE" in os.environ:  # one process group for all the runs
    dist.init_process_group("gloo")
for fusion in list_fusions():
    cfg = TrainConfig(
        dataset="synthetic",
        dataset_options={"train": 10, "valid": 4, "test": 4},
        epochs=2,
        batch_size=5,
        dropout=0.0,
        model_options={"hidden": 4, "dense": 4},
        fusion=fusion,
        embed="late" if fusion == "lmam" else "early",
        threads=1,
        out_dir=sys.argv[1],
        name=fusion,
    )
    Trainer(cfg, quiet=True).fit()
if dist.is_initialized():  # a gloo group left open at exit can abort the process
    dist.barrier()
    dist.destroy_process_group()
"""


def test_two_processes_match_one_for_every_fusion(tmp_path):
    """With dropout 0, 2 processes = 1 process for every fusion, auxiliary losses included.

    The global batch of 5 dialogues splits 3 + 2 over the ranks, so a loss that
    is not weighted by each rank's share of the utterances would differ.
    """
    from lmam import list_fusions

    script = tmp_path / "worker.py"
    script.write_text(DDP_WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(script), str(tmp_path / "one")], check=True, env=env)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29518",
            str(script),
            str(tmp_path / "two"),
        ],
        check=True,
        env=env,
        timeout=600,
    )
    for fusion in list_fusions():
        one = json.loads((tmp_path / "one" / fusion / "summary.json").read_text())
        two = json.loads((tmp_path / "two" / fusion / "summary.json").read_text())
        assert two["processes"] == 2 and one["processes"] == 1
        history = [json.loads((tmp_path / r / fusion / "metrics.json").read_text())["history"]
                   for r in ("one", "two")]  # fmt: skip
        for a, b in zip(*history):
            assert abs(a["loss"] - b["loss"]) < 1e-5, (fusion, a["loss"], b["loss"])
        for k, v in weights(tmp_path / "one" / fusion).items():
            torch.testing.assert_close(
                weights(tmp_path / "two" / fusion)[k], v, atol=1e-5, rtol=1e-4, msg=fusion
            )


def test_predict_and_evaluate_compiled_give_the_eager_predictions(tmp_path, monkeypatch):
    from lmam.data import save_dataset
    from lmam.train.inference import evaluate_run, predict_run

    compiles = []
    real_compile = torch.compile

    def counted(model, **options):
        compiles.append(options)
        return real_compile(model, **options)

    monkeypatch.setattr(torch, "compile", counted)
    summary = train(config(tmp_path, name="comp", epochs=1), quiet=True)
    run = Path(summary["run_dir"])
    path = tmp_path / "new.npz"
    save_dataset(create_dataset("synthetic", train=3, valid=2, test=2, seed=7), path)
    eager, fast = tmp_path / "eager.csv", tmp_path / "fast.csv"
    rows, _ = predict_run(run, str(path), eager)
    assert predict_run(run, str(path), fast, compile=True)[0] == rows
    a, b = (np.loadtxt(f, delimiter=",", skiprows=1, usecols=(4, 5, 6, 7)) for f in (eager, fast))
    np.testing.assert_allclose(b, a, atol=1e-5)
    assert evaluate_run(run, compile=True)["recomputed"] == summary["test"]
    assert compiles == [{"dynamic": True}] * 2  # predict, evaluate; not the eager calls


def test_predict_writes_every_utterance_and_refuses_other_widths(tmp_path):
    from lmam.data import Conversation, ConversationDataset, save_dataset
    from lmam.train.inference import predict_run

    summary = train(config(tmp_path, name="pred", epochs=1), quiet=True)
    ds = create_dataset("synthetic", train=3, valid=2, test=2, seed=7)
    path = tmp_path / "new.npz"
    save_dataset(ds, path)
    out = tmp_path / "pred.csv"
    rows, scores = predict_run(Path(summary["run_dir"]), str(path), out)
    assert scores is not None and scores["n"] == rows  # the data is labelled
    lines = out.read_text().splitlines()
    assert rows == sum(len(c) for s in ds.splits.values() for c in s) == len(lines) - 1
    assert lines[0] == "split,dialogue,utterance,prediction,p_class0,p_class1,p_class2,p_class3"
    wide = ConversationDataset(
        "wide",
        {
            s: [
                Conversation(
                    c.id,
                    {**c.feats, "audio": np.zeros((len(c), 9), np.float32)},
                    c.speakers,
                    c.labels,
                )
                for c in convs
            ]
            for s, convs in ds.splits.items()
        },
        ds.label_names,
        {**ds.modalities, "audio": 9},
    )
    save_dataset(wide, tmp_path / "wide.npz")
    with pytest.raises(DataError, match=r"wide.npz.*'audio'.*width 8.*width 9"):
        predict_run(Path(summary["run_dir"]), str(tmp_path / "wide.npz"), tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_resume_after_sigkill_mid_epoch(tmp_path):
    """A real kill (SIGKILL, no clean-up) during epoch 2, then --resume: same result."""
    import signal
    import time

    args = [
        sys.executable,
        "-m",
        "lmam",
        "train",
        "--dataset",
        "synthetic",
        "--data-opt",
        "train=96",
        "--data-opt",
        "valid=8",
        "--data-opt",
        "test=8",
        "--epochs",
        "4",
        "--batch-size",
        "4",
        "--model-opt",
        "hidden=16",
        "--model-opt",
        "dense=16",
        "--fusion",
        "lmam",
        "--threads",
        "1",
        "--out-dir",
        str(tmp_path),
        "--quiet",
    ]
    subprocess.run([*args, "--name", "full"], check=True)
    proc = subprocess.Popen([*args, "--name", "killed"])
    progress = tmp_path / "killed" / "state" / "progress.json"
    deadline = time.time() + 120
    while not progress.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(progress.read_text())["epoch"] == 1  # killed inside epoch 2
    subprocess.run(
        [sys.executable, "-m", "lmam", "train", "--resume", str(tmp_path / "killed"), "--quiet"],
        check=True,
    )
    full = json.loads((tmp_path / "full" / "summary.json").read_text())
    resumed = json.loads((tmp_path / "killed" / "summary.json").read_text())
    assert resumed["test"] == full["test"] and resumed["epochs_run"] == 4
    for k, v in weights(tmp_path / "full").items():
        torch.testing.assert_close(weights(tmp_path / "killed")[k], v, rtol=0, atol=0)


def test_dialoguegcn_takes_its_speaker_count_from_the_data(tmp_path):
    pytest.importorskip("torch_geometric", reason="DialogueGCN needs the extra 'graph'")
    small = {"d_e": 4, "graph_hidden": 4, "d_h": 4, "num_bases": 2}
    trainer = Trainer(config(tmp_path, name="gcn", backbone="dialoguegcn", model_options=small))
    most = max(len(np.unique(c.speakers)) for s in trainer.ds.splits.values() for c in s)
    assert trainer.config.model_options["num_speakers"] == most
    given = {**small, "num_speakers": 7}
    fixed = Trainer(config(tmp_path, name="gcn7", backbone="dialoguegcn", model_options=given))
    assert fixed.config.model_options["num_speakers"] == 7


def test_bucketed_is_the_default_and_a_config_without_the_key_keeps_random(tmp_path):
    import yaml

    assert TrainConfig().batching == "bucketed"
    assert TrainConfig.from_dict(TrainConfig().to_dict()).batching == "bucketed"
    old = TrainConfig(dataset="synthetic").to_dict()
    del old["batching"]  # as written before the option existed
    assert TrainConfig.from_dict(old).batching == "random"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    assert TrainConfig.load(tmp_path / "config.yaml").batching == "random"


def test_bucketed_batches_train_deterministically_with_less_padding(tmp_path):
    from lmam.data import create_dataset
    from lmam.data.batching import epoch_batches, padded_fraction

    kw = dict(batching="bucketed", dataset_options={"train": 40, "valid": 8, "test": 8})
    a = train(config(tmp_path, name="a", **kw), quiet=True)
    b = train(config(tmp_path, name="b", **kw), quiet=True)
    r = train(config(tmp_path, name="r", **{**kw, "batching": "random"}), quiet=True)
    assert a["test"] == b["test"]
    wa, wb, wr = weights(a["run_dir"]), weights(b["run_dir"]), weights(r["run_dir"])
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert any(not torch.equal(wa[k], wr[k]) for k in wa)  # other batches, another model
    assert "batching: bucketed" in (Path(a["run_dir"]) / "config.yaml").read_text()
    lengths = [len(c) for c in create_dataset("synthetic", train=40, valid=8, test=8).train]
    random = [padded_fraction(lengths, epoch_batches(lengths, 8, 0, e)) for e in (1, 2, 3)]
    bucketed = [
        padded_fraction(lengths, epoch_batches(lengths, 8, 0, e, "bucketed")) for e in (1, 2, 3)
    ]
    assert max(bucketed) < min(random)


@pytest.mark.parametrize("device", DEVICES)
def test_training_runs_on_every_device_and_under_bf16(tmp_path, device):
    full = train(config(tmp_path, name="f32", device=device, fusion="lmam"), quiet=True)
    half = train(
        config(tmp_path, name="bf16", device=device, fusion="lmam", precision="bf16"), quiet=True
    )
    assert "precision: bf16" in (Path(half["run_dir"]) / "config.yaml").read_text()
    for summary in (full, half):
        assert np.isfinite(summary["test"]["weighted_f1"])
    got = evaluate_run(Path(half["run_dir"]), device=device, precision="bf16")
    assert got["identical"]


def test_fp16_needs_a_gpu(tmp_path):
    with pytest.raises(OptionError, match="fp16 needs a GPU"):
        Trainer(config(tmp_path, precision="fp16"))
    with pytest.raises(OptionError, match=r"precision must be one of 32, bf16, fp16"):
        config(tmp_path, precision="16")


def test_a_compiled_model_computes_what_the_eager_one_does():
    from lmam.models import create_model
    from lmam.train.precision import compiled
    from tests.models.test_models import DIMS, batch

    torch.manual_seed(0)
    model = create_model(
        "bclstm", in_dims=DIMS, num_classes=3, fusion="lmam", embed="early_residual", hidden=8
    ).eval()
    feats, mask, speakers = batch()
    with torch.no_grad():
        eager = model(feats, mask, speakers)
        fast = compiled(model, True)(feats, mask, speakers)
    torch.testing.assert_close(fast, eager, atol=1e-5, rtol=1e-5)
