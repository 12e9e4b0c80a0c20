"""``lmam tune``: spaces, the objective on validation only, pruning, resuming, sharing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lmam.errors import OptionError, RunError
from lmam.experiments import tune
from lmam.fusion.registry import list_fusions
from lmam.models.registry import backbones, get_backbone
from lmam.space import Choice, Fixed, Float, Int, parse_dimension
from lmam.train.engine import Trainer
from tests.experiments.configs import TINY

optuna = pytest.importorskip("optuna")

SETTINGS = tune.StudySettings(trials=3, startup_trials=1, warmup_epochs=0)


def test_the_space_is_declared_beside_the_backbone_and_fusion() -> None:
    config = replace(TINY, model_options={}, fusion="lmam", embed="early_residual")
    space = tune.search_space(config)
    assert space["lr"] == tune.TRAINING_SPACE["lr"]
    for name, dim in get_backbone("bclstm").space.items():
        assert space[f"model_options.{name}"] == dim
    assert isinstance(space["fusion_options.rank"], Int)
    # an option set in the config is kept, not searched; so is a pinned setting
    pinned = tune.search_space(replace(config, model_options={"hidden": 8}), pinned=("lr",))
    assert "model_options.hidden" not in pinned and "lr" not in pinned
    # concatenation declares no space: only training and backbone settings
    assert not [k for k in tune.search_space(replace(config, fusion="concat")) if "fusion" in k]


def test_a_yaml_file_overrides_the_space(tmp_path: Path) -> None:
    f = tmp_path / "space.yaml"
    f.write_text(
        "lr: {float: [0.001, 0.01], log: true}\n"
        "model_options.hidden: {int: [4, 8], step: 4}\n"
        "dropout: 0.3\n"
        "weight_decay: null\n"
        "fusion_options.query: {choice: [lowrank, full]}\n"
    )
    config = replace(TINY, model_options={}, fusion="lmam")
    space = tune.search_space(config, tune.read_space_file(f), where=str(f))
    assert space["lr"] == Float(0.001, 0.01, True)
    assert space["model_options.hidden"] == Int(4, 8, 4)
    assert space["dropout"] == Fixed(0.3)
    assert "weight_decay" not in space
    assert space["fusion_options.query"] == Choice(("lowrank", "full"))
    with pytest.raises(OptionError, match=r"space.yaml: 'lrr' is not a setting"):
        tune.search_space(config, {"lrr": 0.1}, where=str(f))
    with pytest.raises(OptionError, match=r"space.yaml: lr: .*low < high"):
        parse_dimension("lr", {"float": [1.0, 0.1]}, str(f))
    with pytest.raises(OptionError, match="one of float, int, choice"):
        parse_dimension("lr", {"range": [1, 2]})


def test_a_trial_applies_its_parameters_to_the_config() -> None:
    config = tune.with_params(
        TINY, {"lr": 0.01, "model_options.hidden": 8, "fusion_options.rank": 3}, name="t"
    )
    assert config.lr == 0.01 and config.name == "t"
    assert config.model_options == {"hidden": 8, "dense": 4}
    assert config.fusion_options == {"rank": 3}


def test_the_objective_never_reads_the_test_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    original = Trainer.predict

    def spy(self: Trainer, convs: list) -> object:
        seen.extend(c.id for c in convs)
        return original(self, convs)

    monkeypatch.setattr(Trainer, "predict", spy)
    study = tune.open_study(tmp_path / "s", TINY, tune.search_space(TINY), SETTINGS)
    best = tune.run_study(study, quiet=True)
    test_ids = {c.id for c in Trainer(TINY, run_dir=tmp_path / "probe").ds.test}
    assert seen and not test_ids & set(seen)
    assert best["trials"] == 3
    for trial in (tmp_path / "s" / "trials").iterdir():
        history = json.loads((trial / "metrics.json").read_text())["history"]
        assert all(h["test"] is None for h in history)
    # the best is a config `lmam train --config` takes, with the best trial's values
    from lmam.train.config import TrainConfig

    config = TrainConfig.load(tmp_path / "s" / "best.yaml")
    assert config.lr == pytest.approx(best["params"]["lr"])
    # only the final runs read test, once each
    final = tune.final_runs(study, [0, 1])
    assert len(final["test"]) == 2 and final["std"] >= 0


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study: object, trial: object) -> bool:
        return True


def test_pruning_stops_a_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda **_: AlwaysPrune())
    config = replace(TINY, epochs=4)
    study = tune.open_study(tmp_path / "s", config, tune.search_space(config), SETTINGS)
    with pytest.raises(RunError, match="no trial of the study completed"):
        tune.run_study(study, quiet=True)
    trials = tune.load_optuna_study(study).get_trials()
    assert [t.state.name for t in trials] == ["PRUNED"] * 3
    for t in trials:
        history = json.loads((Path(t.user_attrs["run_dir"]) / "metrics.json").read_text())
        assert len(history["history"]) == 1  # stopped after its first epoch of 4


def test_a_study_refuses_other_settings_in_its_folder(tmp_path: Path) -> None:
    tune.open_study(tmp_path / "s", TINY, tune.search_space(TINY), SETTINGS)
    with pytest.raises(RunError, match=r"another config .*epochs"):
        tune.open_study(tmp_path / "s", replace(TINY, epochs=5), tune.search_space(TINY))
    # a searched setting's value in the config is never used, so it may differ
    tune.open_study(tmp_path / "s", replace(TINY, lr=0.5), tune.search_space(TINY))
    with pytest.raises(RunError, match="another search space"):
        tune.open_study(tmp_path / "s", TINY, {"lr": Float(0.1, 0.2)})
    # the same settings continue it, with a larger budget if asked
    again = tune.open_study(
        tmp_path / "s", TINY, tune.search_space(TINY), replace(SETTINGS, trials=5)
    )
    assert again.settings.trials == 5


TUNE = [
    sys.executable,
    "-m",
    "lmam",
    "tune",
    "--dataset",
    "synthetic",
    "--data-opt",
    "train=16",
    "--data-opt",
    "valid=4",
    "--data-opt",
    "test=4",
    "--model-opt",
    "hidden=4",
    "--model-opt",
    "dense=4",
    "--pruner",
    "none",
    "--quiet",
    "--name",
    "s",
]


def _states(db: Path) -> list[tuple[int, str]]:
    try:
        with sqlite3.connect(db) as con:
            return list(con.execute("select number, state from trials order by number"))
    except sqlite3.OperationalError:  # Optuna is still creating its tables
        return []


def test_a_killed_study_continues_where_it_stopped(tmp_path: Path) -> None:
    cmd = [*TUNE, "--epochs", "30", "--trials", "3", "--out-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env)
    db = tmp_path / "s" / "study.db"
    deadline = time.time() + 120
    while time.time() < deadline:  # kill it once a trial finished and the next one runs
        states = {s for _, s in _states(db)} if db.exists() else set()
        if {"COMPLETE", "RUNNING"} <= states:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _states(db)
    assert "COMPLETE" in {s for _, s in before} and len(before) < 3 + 1
    done = subprocess.run([*cmd, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = _states(db)
    complete = [n for n, s in after if s == "COMPLETE"]
    assert len(complete) == 3  # the budget, not 3 more
    assert {n for n, s in before if s == "COMPLETE"} <= set(complete)  # earlier ones kept
    assert json.loads(done.stdout)["best"]["trials"] == 3
    # the trial that was running when the process died is not among the results
    killed = {n for n, s in before if s == "RUNNING"}
    assert killed and not killed & set(complete)


def test_two_processes_share_one_study_without_duplicating_trials(tmp_path: Path) -> None:
    cmd = [*TUNE, "--epochs", "2", "--trials", "4", "--jobs", "2", "--out-dir", str(tmp_path)]
    done = subprocess.run([*cmd, "--json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    trials = optuna.load_study(
        study_name="s", storage=f"sqlite:///{tmp_path / 's' / 'study.db'}"
    ).get_trials()
    counted = [t for t in trials if tune.counted(t)]
    assert len(counted) >= 4  # at most one surplus trial when both finish at once
    folders = sorted(p.name for p in (tmp_path / "s" / "trials").iterdir())
    assert folders == [f"trial-{t.number:04d}" for t in trials]  # each trial trained once
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == len(params)  # no two processes drew the same trial
    assert json.loads(done.stdout)["best"]["trials"] == 4


def _ends(dim: object) -> list[object]:
    if isinstance(dim, (Float, Int)):
        return [dim.low, dim.high]
    if isinstance(dim, Choice):
        return list(dim.values)
    return [dim.value]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", [b.name for b in backbones()])
def test_every_backbone_builds_at_the_ends_of_its_space(name: str) -> None:
    from lmam.models.registry import create_model

    spec = get_backbone(name)
    assert spec.space, f"{name} declares no search space"
    dims = {"text": 8, "audio": 6, "visual": 4}
    for option, dim in spec.space.items():
        for value in _ends(dim):
            model = create_model(name, in_dims=dims, num_classes=3, **{option: value})
            assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("name", list_fusions())
def test_every_fusion_space_names_its_options(name: str) -> None:
    from lmam.fusion.registry import create_fusion, fusion_factory

    for option, dim in getattr(fusion_factory(name), "space", {}).items():
        for value in _ends(dim):
            create_fusion(name, in_dims={"text": 8, "audio": 6}, out_dim=4, **{option: value})


def test_a_dimension_reads_back_from_its_yaml_form() -> None:
    from lmam.space import dimension_yaml

    for dim in (Float(1e-4, 1e-2, True), Int(50, 300, 50), Choice(("a", 1)), Fixed(0.3)):
        assert parse_dimension("x", dimension_yaml(dim)) == dim
