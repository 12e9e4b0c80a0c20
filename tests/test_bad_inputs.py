"""Every bad input gets one clear line, a documented exit code, and nothing written.

Table-driven: each CLI case runs ``lmam`` in-process through typer's runner and
asserts the exit code (2 for a bad command line, option or config value; 1 for
bad data or an unusable run directory), one ``error:`` line naming the option,
file or field, no traceback, and an empty output directory. The Python API
cases assert the exception type and message.
"""

from __future__ import annotations

import codecs
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import lmam
from lmam.cli import app
from lmam.data import DataError, create_dataset, save_dataset
from lmam.errors import OptionError
from lmam.train import TrainConfig
from tests.test_cli import TINY

runner = CliRunner()
MELD_HEADER = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,"
    "StartTime,EndTime\n1,hi there,Joey,joy,positive,0,0,1,1,00:00:01,00:00:02\n"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The bad files and run directories of the table."""
    d = tmp_path_factory.mktemp("bad")
    good = save_dataset(create_dataset("synthetic", train=4, valid=2, test=2), d / "good.npz")
    raw = Path(good).read_bytes()
    out = {"good": Path(good)}
    out["truncated"] = d / "truncated.npz"
    out["truncated"].write_bytes(raw[: len(raw) // 2])
    out["empty"] = d / "empty.pkl"
    out["empty"].write_bytes(b"")
    out["csv"] = d / "garbage.csv"
    out["csv"].write_text("a,b,c\n1,2,3\nfoo,bar\n")
    out["objects"] = d / "objects.npz"
    np.savez(out["objects"], x=np.array([{"a": 1}], dtype=object))
    out["plain_npz"] = d / "plain.npz"
    np.savez(out["plain_npz"], x=np.zeros(3))
    out["meld_nul"] = d / "meld_nul"
    out["meld_nul"].mkdir()
    for name in ("train_sent_emo.csv", "dev_sent_emo.csv", "test_sent_emo.csv"):
        (out["meld_nul"] / name).write_bytes(MELD_HEADER.encode("utf-16-le"))
    configs = {
        "epochs_ten": "dataset: synthetic\nepochs: ten\n",
        "lr_abc": "dataset: synthetic\nlr: abc\n",
        "malformed": "dataset: synthetic\nepochs: [1, 2\n",
        "unknown_key": "dataset: synthetic\nepoch: 3\n",
        "not_mapping": "- 1\n- 2\n",
    }
    for name, text in configs.items():
        out[name] = d / f"{name}.yaml"
        out[name].write_text(text)
    # a run directory without a finished epoch, and a finished run
    out["unfinished"] = d / "unfinished"
    out["unfinished"].mkdir()
    TrainConfig(dataset="synthetic").dump(out["unfinished"] / "config.yaml")
    r = runner.invoke(
        app, ["train", *TINY, "--epochs", "2", "--out-dir", str(d), "--name", "finished"]
    )
    assert r.exit_code == 0, r.output
    out["finished"] = d / "finished"
    out["a_directory"] = d / "a_directory"
    out["a_directory"].mkdir()
    out["failed"] = d / "failed"
    shutil.copytree(out["finished"], out["failed"])
    (out["failed"] / "failed.json").write_text(
        '{"error": "training diverged at epoch 2, step 1: the training loss is nan", '
        '"type": "DivergedError", "epoch": 2, "step": 1, "epochs_completed": 1}'
    )
    out["summary"] = out["finished"] / "summary.json"
    for name, text in {"seed_negative": "seed: -1\n", "name_escapes": "name: ../x\n"}.items():
        out[name] = d / f"{name}.yaml"
        out[name].write_text("dataset: synthetic\n" + text)
    return out


CASES = [
    # (id, arguments (with {name} placeholders for the files), exit code, message parts)
    (
        "fusion option typo",
        ["train", *TINY, "--fusion", "lmam", "--fusion-opt", "rnak=45"],
        2,
        ["fusion 'lmam' has no option 'rnak'", "did you mean 'rank'", "scale"],
    ),
    (
        "fusion option value",
        ["train", *TINY, "--fusion", "lmam", "--fusion-opt", "rank=abc"],
        2,
        ["rank='abc'", "expected int"],
    ),
    (
        "fusion option range",
        ["train", *TINY, "--fusion", "lmam", "--fusion-opt", "rank=0"],
        2,
        ["fusion 'lmam'", "rank must be a positive int"],
    ),
    (
        "fusion option without =",
        ["train", *TINY, "--fusion-opt", "rank"],
        2,
        ["--fusion-opt 'rank'", "KEY=VALUE"],
    ),
    (
        "model option typo",
        ["train", *TINY, "--model-opt", "foo=1"],
        2,
        ["model 'bclstm' has no option 'foo'", "hidden"],
    ),
    (
        "model option clash",
        ["train", *TINY, "--model-opt", "fusion=lmam"],
        2,
        ["model option 'fusion'", "--fusion"],
    ),
    (
        "dataset option typo",
        ["train", *TINY, "--data-opt", "trian=3"],
        2,
        ["dataset 'synthetic' has no option 'trian'", "did you mean 'train'"],
    ),
    (
        "dataset option value",
        ["train", *TINY, "--data-opt", "noise=loud"],
        2,
        ["noise='loud'", "expected float"],
    ),
    (
        "unknown fusion",
        ["train", *TINY, "--fusion", "lmma"],
        2,
        ["unknown fusion 'lmma'", "did you mean 'lmam'"],
    ),
    (
        "unknown backbone",
        ["train", *TINY, "--backbone", "bclstn"],
        2,
        ["unknown model 'bclstn'", "bclstm"],
    ),
    (
        "unknown embedding point",
        ["train", *TINY, "--embed", "middle"],
        2,
        ["embed must be one of", "early_residual"],
    ),
    ("unknown device", ["train", *TINY, "--device", "tpu"], 2, ["device", "'tpu'", "cuda:N"]),
    ("absent device", ["train", *TINY, "--device", "cuda:3"], 2, ["cuda:3"]),
    (
        "unknown metric",
        ["train", *TINY, "--metric", "nope"],
        2,
        ["metric must be one of accuracy, weighted_f1, macro_f1", "'nope'"],
    ),
    ("metric of the other task", ["train", *TINY, "--metric", "mae"], 2, ["metric", "'mae'"]),
    ("zero threads", ["train", *TINY, "--threads", "0"], 2, ["threads must be a positive"]),
    ("zero epochs", ["train", *TINY[:-3], "--epochs", "0", "--quiet"], 2, ["epochs must be"]),
    ("zero patience", ["train", *TINY, "--patience", "0"], 2, ["patience must be"]),
    ("dropout of 1.5", ["train", *TINY, "--dropout", "1.5"], 2, ["dropout must be in [0, 1)"]),
    ("negative lr", ["train", *TINY, "--lr", "-1"], 2, ["lr must be a positive finite number"]),
    ("unknown loss", ["train", *TINY, "--loss", "hinge"], 2, ["loss must be one of", "hinge"]),
    (
        "regression loss on classes",
        ["train", *TINY, "--loss", "mse"],
        2,
        ["classification task", "mse"],
    ),
    (
        "unknown modality",
        ["train", *TINY, "--modalities", "text,smell"],
        2,
        ["no modality 'smell'", "text, audio, visual"],
    ),
    (
        "unknown dataset",
        ["train", "--dataset", "nope", "--quiet"],
        1,
        ["nope", "neither a registered dataset", "synthetic"],
    ),
    (
        "data path for a file",
        ["train", "--dataset", "{good}", "--data-path", "elsewhere", "--quiet"],
        2,
        ["elsewhere' applies to a registered dataset", "is read as a path"],
    ),
    (
        "unknown recipe",
        ["train", "--recipe", "cimma", "--quiet"],
        2,
        ["unknown recipe 'cimma'", "did you mean 'cima'"],
    ),
    (
        "config and recipe",
        ["train", "--recipe", "cima", "--config", "{lr_abc}", "--quiet"],
        2,
        ["--config or --recipe, not both"],
    ),
    (
        "missing config",
        ["train", "--config", "{a_directory}/none.yaml"],
        2,
        ["none.yaml", "no such config file"],
    ),
    (
        "config epochs: ten",
        ["train", "--config", "{epochs_ten}"],
        2,
        ["epochs_ten.yaml", "epochs='ten'", "expected int"],
    ),
    ("config lr: abc", ["train", "--config", "{lr_abc}"], 2, ["lr_abc.yaml", "lr='abc'"]),
    (
        "malformed config",
        ["train", "--config", "{malformed}"],
        2,
        ["malformed.yaml", "not valid YAML at line"],
    ),
    (
        "config key typo",
        ["train", "--config", "{unknown_key}"],
        2,
        ["unknown config key 'epoch'", "did you mean 'epochs'"],
    ),
    (
        "config not a mapping",
        ["train", "--config", "{not_mapping}"],
        2,
        ["not_mapping.yaml", "not a training configuration"],
    ),
    (
        "resume changing the run",
        ["train", "--resume", "{finished}", "--fusion", "lmam"],
        2,
        ["--resume continues", "--fusion would change it", "--config"],
    ),
    (
        "resume shrinking the run",
        ["train", "--resume", "{finished}", "--epochs", "1"],
        2,
        ["epochs 1", "already completed 2 epochs", "may only extend"],
    ),
    ("resume of no run", ["train", "--resume", "{a_directory}"], 1, ["not a run directory"]),
    (
        "resume of an unstarted run",
        ["train", "--resume", "{unfinished}"],
        1,
        ["no completed epoch to resume from"],
    ),
    (
        "evaluate an unfinished run",
        ["evaluate", "{unfinished}"],
        1,
        ["no checkpoint", "no completed epoch yet", "--resume"],
    ),
    ("evaluate no run", ["evaluate", "{a_directory}/none"], 1, ["no such run directory"]),
    (
        "predict into a directory",
        ["predict", "{finished}", "--data", "{good}", "--out", "{a_directory}"],
        2,
        ["--out", "is a folder"],
    ),
    (
        "truncated npz",
        ["data", "info", "{truncated}"],
        1,
        ["truncated.npz", "damaged or truncated zip/.npz"],
    ),
    ("empty file", ["data", "info", "{empty}"], 1, ["empty.pkl", "an empty file (0 bytes)"]),
    ("garbage csv", ["data", "info", "{csv}"], 1, ["garbage.csv", "CSV text file", "'a,b,c'"]),
    (
        "npz of pickled objects",
        ["data", "info", "{objects}"],
        1,
        ["objects.npz", "pickled Python objects", "never unpickles"],
    ),
    (
        "npz of another program",
        ["data", "info", "{plain_npz}"],
        1,
        ["plain.npz", "not an lmam dataset file"],
    ),
    (
        "UTF-16 without BOM",
        ["data", "info", "{meld_nul}"],
        1,
        ["train_sent_emo.csv", "NUL bytes", "UTF-8"],
    ),
    (
        "data option typo",
        ["data", "info", "synthetic", "-o", "sed=1"],
        2,
        ["dataset 'synthetic' has no option 'sed'", "did you mean 'seed'"],
    ),
    (
        "flag of the wrong type",
        ["train", "--epochs", "ten"],
        2,
        ["Error: Invalid value for '--epochs'"],
    ),
    ("demo with no seeds", ["demo", "--seeds", "0"], 2, ["--seeds"]),
    # -- settings that would waste a run, or lose or fake a result ----------------------
    ("negative seed", ["train", *TINY, "--seed", "-5"], 2, ["seed must be a non-negative"]),
    ("infinite lr", ["train", *TINY, "--lr", "inf"], 2, ["lr must be a positive finite", "inf"]),
    ("nan lr", ["train", *TINY, "--lr", "nan"], 2, ["lr must be a positive finite", "nan"]),
    (
        "infinite weight decay",
        ["train", *TINY, "--weight-decay", "inf"],
        2,
        ["weight_decay must be a finite number >= 0"],
    ),
    ("zero grad clip", ["train", *TINY, "--grad-clip", "0"], 2, ["grad_clip must be a positive"]),
    ("negative grad clip", ["train", *TINY, "--grad-clip", "-1"], 2, ["grad_clip", "-1.0"]),
    ("name with a slash", ["train", *TINY, "--name", "a/b"], 2, ["one folder name", "'a/b'"]),
    ("name ..", ["train", *TINY, "--name", ".."], 2, ["one folder name", "'..'"]),
    ("empty modalities", ["train", *TINY, "--modalities", ""], 2, ["at least one modality"]),
    ("repeated modality", ["train", *TINY, "--modalities", "text,text"], 2, ["'text' twice"]),
    ("empty modality", ["train", *TINY, "--modalities", "text,,audio"], 2, ["none empty"]),
    ("config seed -1", ["train", "--config", "{seed_negative}"], 2, ["seed_negative.yaml", "seed"]),
    (
        "config name leaving out-dir",
        ["train", "--config", "{name_escapes}"],
        2,
        ["name_escapes.yaml", "one folder name"],
    ),
    ("resume a failed run", ["train", "--resume", "{failed}"], 1, ["failed:", "cannot be resumed"]),
    (
        "predict with a failed run",
        ["predict", "{failed}", "--data", "{good}", "--out", "{a_directory}/p.csv"],
        1,
        ["diverged", "not a result"],
    ),
    ("evaluate a failed run", ["evaluate", "{failed}"], 1, ["failed:", "not a result"]),
    (
        "predict over its data",
        ["predict", "{finished}", "--data", "{good}", "--out", "{good}"],
        2,
        ["--out", "never writes over what it reads"],
    ),
    (
        "predict over the run's record",
        ["predict", "{finished}", "--data", "{good}", "--out", "{summary}"],
        2,
        ["is a file of the input"],
    ),
    (
        "predict into a missing folder far away",
        ["predict", "{finished}", "--data", "{good}", "--out", "/nonexistent-lmam/x/p.csv"],
        2,
        ["no such folder /nonexistent-lmam/x", "--mkdir"],
    ),
    (
        "predict raw input to a .txt",
        ["predict", "{finished}", "{csv}", "--out", "{a_directory}/p.txt"],
        2,
        [".csv or .json"],
    ),
    (
        "evaluate on damaged data",
        ["evaluate", "{finished}", "--data", "{truncated}"],
        1,
        ["truncated.npz", "damaged or truncated"],
    ),
    ("export over its input", ["data", "export", "{good}", "{good}"], 2, ["never writes over"]),
    ("export onto a folder", ["data", "export", "{good}", "{a_directory}"], 2, ["is a folder"]),
    (
        "features over their input",
        ["features", "text", "{csv}", "--out", "{csv}"],
        2,
        ["never writes over"],
    ),
    (
        "runs JSON over a run's file",
        ["runs", "{finished}", "--json", "{summary}"],
        2,
        ["--json", "is a file of the input"],
    ),
    ("unknown cache action", ["cache", "purge"], 2, ["cache takes list or clear", "'purge'"]),
    ("unknown cache kind", ["cache", "--kind", "txt"], 2, ["did you mean 'text'"]),
    (
        "registered data not where given",
        ["data", "info", "meld-csv", "--data-path", "{a_directory}/none"],
        1,
        ["a_directory/none"],
    ),
    ("unknown feature set", ["features", "text", "nope"], 2, ["unknown feature set 'nope'"]),
]


@pytest.mark.parametrize(
    ("args", "code", "parts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_cli_bad_input(files, tmp_path, args, code, parts):
    out = tmp_path / "runs"
    argv = [a.format(**files) for a in args]
    if argv[0] == "train" and "--resume" not in argv:
        argv += ["--out-dir", str(out)]
    result = runner.invoke(app, argv)
    text = result.output
    assert result.exit_code == code, text
    assert result.exception is None or isinstance(result.exception, SystemExit), text
    assert "Traceback" not in text
    for part in parts:
        assert part in text, (part, text)
    if code == 1 or (code == 2 and "error:" in text):
        errors = [line for line in text.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, text
    assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))


def test_the_installed_command_ends_bad_input_with_one_line(tmp_path):
    """Through a real process: stderr is one line, the exit code as documented."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmam",
            "train",
            *TINY,
            "--fusion",
            "lmam",
            "--fusion-opt",
            "rnak=4",
            "--out-dir",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("error:")
    assert "did you mean 'rank'" in r.stderr
    assert not (tmp_path / "runs").exists()


API_CASES = [
    (
        "fusion option typo",
        lambda: lmam.create_fusion("lmam", in_dims={"t": 4}, out_dim=4, rnak=3),
        OptionError,
        "did you mean 'rank'",
    ),
    (
        "fusion option type",
        lambda: lmam.create_fusion("lmam", in_dims={"t": 4}, out_dim=4, rank="abc"),
        OptionError,
        "rank='abc'",
    ),
    (
        "lora base option",
        lambda: lmam.create_fusion("lora", in_dims={"t": 4}, out_dim=4, scale="dim", heads=2),
        OptionError,
        "fusion 'lora' has no option 'heads'",
    ),
    (
        "model option typo",
        lambda: lmam.create_model("bclstm", in_dims={"t": 4}, num_classes=2, hiden=3),
        OptionError,
        "did you mean 'hidden'",
    ),
    (
        "model fusion option",
        lambda: lmam.create_model(
            "bclstm", in_dims={"t": 4}, num_classes=2, fusion="lmam", fusion_options={"rnak": 1}
        ),
        OptionError,
        "fusion 'lmam' has no option 'rnak'",
    ),
    (
        "dataset option typo",
        lambda: lmam.create_dataset("synthetic", trian=3),
        OptionError,
        "did you mean 'train'",
    ),
    (
        "unknown dataset name",
        lambda: lmam.create_dataset("synthetik"),
        OptionError,
        "did you mean 'synthetic'",
    ),
    ("config value", lambda: TrainConfig(epochs="ten"), OptionError, "epochs='ten'"),
    (
        "config key",
        lambda: TrainConfig.from_dict({"fuson": "lmam"}),
        OptionError,
        "did you mean 'fusion'",
    ),
    (
        "option errors are ValueErrors",
        lambda: lmam.create_fusion("nope", in_dims={"t": 4}, out_dim=4),
        ValueError,
        "unknown fusion 'nope'",
    ),
]


@pytest.mark.parametrize(
    ("call", "kind", "part"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_bad_input(call, kind, part):
    with pytest.raises(kind) as info:
        call()
    assert part in str(info.value)
    assert "\n" not in str(info.value)


def test_utf16_csv_with_bom_is_read(tmp_path):
    """MELD's CSVs re-saved as UTF-16 (with a byte-order mark) are read, not garbled."""
    for name in ("train_sent_emo.csv", "dev_sent_emo.csv", "test_sent_emo.csv"):
        (tmp_path / name).write_bytes(codecs.BOM_UTF16_LE + MELD_HEADER.encode("utf-16-le"))
    ds = lmam.data.open_dataset(tmp_path)
    assert ds.train[0].texts == ["hi there"]
    assert "utf-16" in str(ds.provenance)


def test_data_errors_name_the_file(files):
    with pytest.raises(DataError) as info:
        lmam.data.open_dataset(files["truncated"])
    assert info.value.file == str(files["truncated"])
