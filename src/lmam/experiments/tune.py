"""``lmam tune``: a hyperparameter study on validation data, with Optuna.

A study tunes one configuration (a :class:`~lmam.train.TrainConfig`: dataset,
backbone, fusion, ...) over a search space: the training settings
(:data:`TRAINING_SPACE`), the backbone's options (its spec's ``space``) and the
fusion's (its class's ``space``), any of them overridden from a YAML file
(:mod:`lmam.space`). Optuna's TPE sampler proposes each trial; a trial is a
training run whose test split is dropped before training (it is never
evaluated, :class:`~lmam.train.engine.Trainer` with ``use_test=False``); its
validation metric is reported every epoch, and the median pruner stops a trial
that is behind the median of the earlier trials at the same epoch. The objective
is the validation metric of the run's selected epoch.

Everything lives in the study folder::

    STUDY/study.yaml       the base config, the space, the settings of the study
    STUDY/study.db         Optuna's SQLite storage (unless --storage names another)
    STUDY/trials/trial-0007/   each trial's run directory (no test metrics)
    STUDY/best.yaml        the best trial as a config ``lmam train --config`` takes
    STUDY/best.json        its number, value, parameters
    STUDY/final/seed-N/    with ``final_seeds``: the best config retrained per seed
    STUDY/final.json       their test metrics, mean and std: test read once, at the end

A killed study continues where it stopped: run the same command again. Several
processes (``jobs``, or ``lmam tune`` started on other machines against one
``--storage`` database) work on one study; each draws its own trials. The
budget (``trials``) counts finished trials: complete, pruned, and diverged.
A trial whose process died is noticed by its stopped heartbeat, marked failed
and tried again with the same parameters.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lmam.errors import OptionError, RunError
from lmam.fusion.registry import FUSIONS
from lmam.models.erc_model import NO_FUSION
from lmam.models.registry import get_backbone
from lmam.options import load_yaml
from lmam.outputs import atomic_write_json, atomic_write_text
from lmam.space import (
    Choice,
    Dimension,
    Fixed,
    Float,
    Int,
    SearchSpace,
    describe,
    dimension_yaml,
    parse_dimension,
)
from lmam.train.build import portable
from lmam.train.config import TrainConfig
from lmam.train.metrics import HIGHER_IS_BETTER

TRAINING_SPACE: SearchSpace = {
    "lr": Float(1e-4, 5e-3, log=True),
    "weight_decay": Float(1e-6, 1e-3, log=True),
    "dropout": Float(0.0, 0.6),
    "batch_size": Choice((8, 16, 32)),
}
"""The training settings every study searches (ranges around the settings of the
ERC literature: Adam 1e-4..1e-3, dropout 0.1..0.5, batches of 8..32 dialogues)."""

HEARTBEAT_SECONDS = 10
"""How often a running trial says it is alive (Optuna's heartbeat)."""
GRACE_SECONDS = 30
"""A running trial silent this long is taken for dead: failed, then tried again."""
PRUNERS = ("median", "none")


@dataclass
class StudySettings:
    """How a study runs (besides the config it tunes and its space).

    Attributes:
        trials: the budget: finished trials (complete, pruned or diverged).
        jobs: processes on this machine working on the study at once.
        storage: an Optuna storage URL (``None``: SQLite in the study folder).
        sampler_seed: seed of the TPE sampler. Worker ``k`` of a call that finds ``n``
            trials in the storage uses ``seed + 1000 k + n``: the processes of one call,
            and a call continuing a study, never draw the same random trials. Several
            machines working on one study at once should each give their own seed.
        pruner: ``median`` (Optuna's ``MedianPruner``) or ``none``.
        startup_trials: trials that are never pruned (the median needs them).
        warmup_epochs: epochs of a trial before it can be pruned.
    """

    trials: int = 30
    jobs: int = 1
    storage: str | None = None
    sampler_seed: int = 0
    pruner: str = "median"
    startup_trials: int = 5
    warmup_epochs: int = 5

    def check(self) -> None:
        if self.trials < 1 or self.jobs < 1:
            raise OptionError(f"trials and jobs must be >= 1, got {self.trials} and {self.jobs}")
        if self.pruner not in PRUNERS:
            raise OptionError(f"pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}")
        if self.startup_trials < 0 or self.warmup_epochs < 0:
            raise OptionError("startup_trials and warmup_epochs must be >= 0")


@dataclass
class Study:
    """A study: the config it tunes, its space, its folder and settings."""

    folder: Path
    config: TrainConfig
    space: dict[str, Dimension]
    settings: StudySettings = field(default_factory=StudySettings)

    @property
    def storage_url(self) -> str:
        return self.settings.storage or f"sqlite:///{(self.folder / 'study.db').resolve()}"

    @property
    def name(self) -> str:
        """The study's name in its storage: the folder's name."""
        return self.folder.resolve().name

    @property
    def metric(self) -> str:
        """The validation metric (the config's, set when the study starts)."""
        return self.config.metric or "weighted_f1"

    @property
    def direction(self) -> str:
        return "maximize" if HIGHER_IS_BETTER.get(self.metric, True) else "minimize"

    def record(self) -> dict[str, Any]:
        """What ``study.yaml`` holds: enough to continue the study anywhere."""
        return {
            "config": self.config.to_dict(),
            "space": {k: dimension_yaml(d) for k, d in self.space.items()},
            "settings": dataclasses.asdict(self.settings),
        }


def _with_metric(config: TrainConfig) -> TrainConfig:
    """``config`` with its metric set: the dataset's selection metric unless given."""
    if config.metric is not None:
        return config
    from lmam.train.build import load_dataset, resolve_metric

    return dataclasses.replace(config, metric=resolve_metric(config, load_dataset(config)))


def best_config(config: TrainConfig, params: Mapping[str, Any]) -> TrainConfig:
    """What ``best.yaml`` holds for the trial ``params`` of a study of ``config``: the
    study's config (paths made absolute, its metric set) with those parameters."""
    base = _with_metric(portable(config))
    return with_params(base, params, name=None, out_dir="runs", metric=base.metric)


def search_space(
    config: TrainConfig,
    overrides: Mapping[str, Any] | None = None,
    pinned: tuple[str, ...] = (),
    where: str = "",
) -> dict[str, Dimension]:
    """The space a study of ``config`` searches.

    The training settings, the backbone's declared space (as
    ``model_options.NAME``) and the fusion's (``fusion_options.NAME``); an
    option already set in ``config.model_options`` or ``config.fusion_options``,
    or named in ``pinned``, keeps its value; then ``overrides`` (YAML form, see
    :mod:`lmam.space`) replace, pin or drop (``null``) any entry, or add one.

    Raises:
        OptionError: an override names no setting of the config, naming the file.
    """
    space: dict[str, Dimension] = dict(TRAINING_SPACE)
    for name, dim in get_backbone(config.backbone).space.items():
        if name not in config.model_options:
            space[f"model_options.{name}"] = dim
    if config.fusion != NO_FUSION:
        for name, dim in getattr(FUSIONS.get(config.fusion), "space", {}).items():
            if name not in config.fusion_options:
                space[f"fusion_options.{name}"] = dim
    for key in pinned:
        space.pop(key, None)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for key, value in (overrides or {}).items():
        head = str(key).split(".", 1)[0]
        nested = "." in str(key)
        if head not in known or (nested and head not in ("model_options", "fusion_options")):
            raise OptionError(
                f"{where or 'search space'}: {key!r} is not a setting; use a TrainConfig field "
                "(lr, dropout, ...) or model_options.NAME / fusion_options.NAME"
            )
        parsed = parse_dimension(str(key), value, where)
        if parsed is None:
            space.pop(str(key), None)
        else:
            space[str(key)] = parsed
    return space


def read_space_file(path: Path) -> dict[str, Any]:
    """The overrides of a YAML file (a mapping), with a clear error naming it."""
    try:
        data = load_yaml(path.read_text())
    except OSError as e:
        raise OptionError(f"--space {path}: cannot be read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise OptionError(f"--space {path}: not YAML ({e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OptionError(f"--space {path}: must be a mapping of setting: range")
    return data


def with_params(config: TrainConfig, params: Mapping[str, Any], **fields: Any) -> TrainConfig:
    """``config`` with a trial's parameters (``model_options.hidden`` nested) and ``fields``."""
    data = config.to_dict()
    for key, value in params.items():
        if "." in key:
            head, option = key.split(".", 1)
            data[head] = {**data[head], option: value}
        else:
            data[key] = value
    return TrainConfig.from_dict({**data, **fields})


def suggest(trial: Any, key: str, dim: Dimension) -> Any:
    """Draw ``key`` from ``dim`` with an Optuna trial."""
    if isinstance(dim, Float):
        return trial.suggest_float(key, dim.low, dim.high, log=dim.log)
    if isinstance(dim, Int):
        return trial.suggest_int(key, dim.low, dim.high, step=dim.step, log=dim.log)
    if isinstance(dim, Choice):
        return trial.suggest_categorical(key, list(dim.values))
    return dim.value


# -- the study's folder ---------------------------------------------------------


def open_study(
    folder: Path,
    config: TrainConfig | None = None,
    space: dict[str, Dimension] | None = None,
    settings: StudySettings | None = None,
) -> Study:
    """Start a study in ``folder``, or continue the one there.

    A new study needs ``config`` and ``space``. Continuing one, ``config`` and
    ``space`` (when given) must be the ones it was started with; ``settings``
    may change the budget, the jobs and the storage.

    Raises:
        RunError: the folder holds a study of other settings, or something else.
    """
    record_file = folder / "study.yaml"
    if record_file.exists():
        data = load_yaml(record_file.read_text())
        old = Study(
            folder,
            TrainConfig.from_dict(data["config"]),
            {k: _parse(k, v, record_file) for k, v in data["space"].items()},
            StudySettings(**data["settings"]),
        )
        given: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        if config is not None:
            # a searched setting's value in the config is never used, and a metric left
            # unset was the dataset's when the study started: neither is compared (so a
            # study continues without loading its dataset)
            mine = portable(config).to_dict()
            theirs = old.config.to_dict()
            unused = set(old.space) | ({"metric"} if config.metric is None else set())
            for key in unused & set(mine):
                mine.pop(key)
                theirs.pop(key, None)
            given.append(("config", mine, theirs))
        if space is not None:
            given.append(("search space", dict(space), dict(old.space)))
        for what, mine, theirs in given:
            if mine != theirs:
                diff = sorted(k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k))
                raise RunError(
                    f"{folder} holds a study with another {what} (differs in "
                    f"{', '.join(diff[:4])}); continue it with the same settings, "
                    "or give another --name"
                )
        study = Study(folder, old.config, old.space, settings or old.settings)
    else:
        if config is None or space is None:
            raise RunError(f"{folder}: no study there (no study.yaml)")
        if folder.exists() and any(folder.iterdir()):
            raise RunError(f"{folder} exists and holds no study; give another --name")
        study = Study(folder, _with_metric(portable(config)), space, settings or StudySettings())
    study.settings.check()
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record_file, yaml.safe_dump(study.record(), sort_keys=False))
    return study


def _parse(key: str, value: Any, where: Path) -> Dimension:
    dim = parse_dimension(key, value, str(where))
    return dim if dim is not None else Fixed(None)


# -- Optuna ----------------------------------------------------------------------


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ImportError(
            "lmam tune needs Optuna: pip install optuna (or the extra lmam[tune])"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def _retry(optuna: Any) -> dict[str, Any]:
    """Try a dead trial again with its parameters (the callback's name changed in Optuna 4.9)."""
    if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback"):
        callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2)
        return {"heartbeat_stale_trial_callback": callback}
    return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=2)}


def load_optuna_study(study: Study, worker: int = 0, existing: int = 0) -> Any:
    """The Optuna study (created if new) with a heartbeat storage, TPE and the pruner."""
    optuna = _optuna()
    storage = optuna.storages.RDBStorage(
        study.storage_url,
        heartbeat_interval=HEARTBEAT_SECONDS,
        grace_period=GRACE_SECONDS,
        **_retry(optuna),
        engine_kwargs={"connect_args": {"timeout": 60}}
        if study.storage_url.startswith("sqlite")
        else {},
    )
    sampler = optuna.samplers.TPESampler(
        seed=study.settings.sampler_seed + 1000 * worker + existing,
        multivariate=True,
        constant_liar=True,
    )
    pruner = (
        optuna.pruners.MedianPruner(
            n_startup_trials=study.settings.startup_trials,
            n_warmup_steps=study.settings.warmup_epochs,
        )
        if study.settings.pruner == "median"
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(
        study_name=study.name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction=study.direction,
        load_if_exists=True,
    )


def counted(trial: Any) -> bool:
    """Whether a trial uses the budget: complete, pruned, or failed by divergence."""
    state = trial.state.name
    return state in ("COMPLETE", "PRUNED") or (state == "FAIL" and "diverged" in trial.user_attrs)


def budget_trials(optuna_study: Any, budget: int) -> list[Any]:
    """The first ``budget`` counted trials, by trial number: the trials the study's
    result is taken from (one that several processes finished beyond the budget
    is left out)."""
    done = sorted((t for t in optuna_study.get_trials(deepcopy=False) if counted(t)), key=_number)
    return done[:budget]


def _number(trial: Any) -> int:
    return int(trial.number)


def objective_for(study: Study) -> Any:
    """The objective: train the trial's config on train, score it on validation."""
    optuna = _optuna()
    from lmam.train.engine import DivergedError, Trainer

    metric = study.metric

    def objective(trial: Any) -> float:
        params = {k: suggest(trial, k, d) for k, d in study.space.items()}
        config = with_params(
            study.config,
            params,
            out_dir=str(study.folder / "trials"),
            name=f"trial-{trial.number:04d}",
            metric=metric,
            tensorboard=False,
        )
        pruned = False

        def report(epoch: int, entry: dict[str, Any]) -> bool:
            nonlocal pruned
            if entry["valid"] is None:
                return False
            trial.report(float(entry["valid"][metric]), epoch)
            pruned = trial.should_prune()
            return pruned

        try:
            trainer = Trainer(config, quiet=True, use_test=False, on_epoch=report, overwrite=True)
            summary = trainer.fit()
        except DivergedError as e:
            trial.set_user_attr("diverged", str(e))
            raise
        trial.set_user_attr("run_dir", summary["run_dir"])
        trial.set_user_attr("best_epoch", summary["best_epoch"])
        if pruned:
            raise optuna.TrialPruned()
        if summary["valid"] is None:
            raise OptionError(f"dataset {config.dataset!r} has no validation split to tune on")
        return float(summary["valid"][metric])

    return objective


def work(study: Study, worker: int = 0, on_trial: Any = None, existing: int = 0) -> None:
    """Run trials until the budget is used (one process's share of the study)."""
    optuna = _optuna()
    from lmam.train.engine import DivergedError

    ostudy = load_optuna_study(study, worker, existing)
    objective = objective_for(study)
    budget = study.settings.trials
    while True:
        # a trial whose process died (no heartbeat for GRACE_SECONDS) is failed here and
        # queued again with its parameters; running trials are not waited for, so the
        # last ones may run in several processes at once: trials past the budget are
        # left out of the result (budget_trials)
        optuna.storages.fail_stale_trials(ostudy)
        if sum(counted(t) for t in ostudy.get_trials(deepcopy=False)) >= budget:
            return
        ostudy.optimize(objective, n_trials=1, catch=(DivergedError,))
        if on_trial is not None:
            on_trial(ostudy)


def _worker(folder: str, worker: int, existing: int) -> None:
    import torch

    torch.set_num_threads(1)
    work(open_study(Path(folder)), worker, existing=existing)


def run_study(study: Study, console: Any = None, quiet: bool = False) -> dict[str, Any]:
    """Run the study to its budget with ``jobs`` processes; write and return its best."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    optuna_study = load_optuna_study(study)  # creates it before the workers start
    existing = len(optuna_study.get_trials(deepcopy=False))
    context = multiprocessing.get_context("spawn")
    helpers = [
        context.Process(target=_worker, args=(str(study.folder), k, existing), daemon=True)
        for k in range(1, study.settings.jobs)
    ]
    for p in helpers:
        p.start()
    budget = study.settings.trials
    progress = Progress(
        TextColumn("[bold]tune"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} trials"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        disable=quiet,
        console=console,
    )

    def show(ostudy: Any) -> None:
        done = budget_trials(ostudy, budget)
        progress.update(bar, completed=len(done), info=_best_line(done, study))

    with progress:
        bar = progress.add_task("tune", total=budget, info="")
        show(optuna_study)
        try:
            work(study, 0, show, existing)
            for p in helpers:
                while p.is_alive():
                    p.join(timeout=1)
                    show(optuna_study)
        finally:
            for p in helpers:
                if p.is_alive():
                    p.terminate()
    bad = [p.exitcode for p in helpers if p.exitcode]
    if bad:
        raise RunError(f"{len(bad)} of the study's worker processes failed (exit {bad[0]})")
    return write_best(study, optuna_study)


def _best_line(done: list[Any], study: Study) -> str:
    complete = [t for t in done if t.state.name == "COMPLETE"]
    if not complete:
        return ""
    best = _best(complete, study)
    return f"best valid {study.metric} {best.value:.4f} (trial {best.number})"


def _best(trials: list[Any], study: Study) -> Any:
    sign = 1.0 if study.direction == "maximize" else -1.0
    return max(trials, key=lambda t: (sign * float(t.value), -int(t.number)))


def write_best(study: Study, optuna_study: Any) -> dict[str, Any]:
    """``best.yaml`` and ``best.json`` from the budget's trials; returns ``best.json``."""
    done = budget_trials(optuna_study, study.settings.trials)
    complete = [t for t in done if t.state.name == "COMPLETE"]
    if not complete:
        raise RunError(f"{study.folder}: no trial of the study completed")
    best = _best(complete, study)
    best_config(study.config, best.params).dump(study.folder / "best.yaml")
    states = [t.state.name for t in done]
    result = {
        "study": str(study.folder),
        "metric": study.metric,
        "direction": study.direction,
        "best_trial": best.number,
        "best_valid": best.value,
        "params": best.params,
        "trials": len(done),
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "diverged": states.count("FAIL"),
        "seconds": sum(
            (t.datetime_complete - t.datetime_start).total_seconds()
            for t in done
            if t.datetime_complete and t.datetime_start
        ),
    }
    atomic_write_json(study.folder / "best.json", result)
    return result


def importance(study: Study) -> dict[str, float]:
    """Optuna's fANOVA importance of each searched setting over the complete trials."""
    optuna = _optuna()
    ostudy = load_optuna_study(study)
    return dict(optuna.importance.get_param_importances(ostudy))


def final_runs(study: Study, seeds: list[int], quiet: bool = True) -> dict[str, Any]:
    """Retrain ``best.yaml`` on every seed with the dataset's own protocol and read test
    once; writes ``final.json`` (per seed, mean and std) and returns it."""
    import numpy as np

    from lmam.train.engine import Trainer

    best = TrainConfig.load(study.folder / "best.yaml")
    runs = []
    for seed in seeds:
        config = with_params(
            best, {}, seed=seed, out_dir=str(study.folder / "final"), name=f"seed-{seed}"
        )
        done = study.folder / "final" / f"seed-{seed}" / "summary.json"
        if done.exists():
            runs.append(json.loads(done.read_text()))
            continue
        runs.append(Trainer(config, quiet=quiet, overwrite=True).fit())
    metric = study.metric
    values = [float(r["test"][metric]) for r in runs]
    result = {
        "metric": metric,
        "seeds": seeds,
        "test": values,
        "mean": float(np.mean(values)),
        "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        "selection": runs[0]["selection"],
        "runs": [
            {"seed": s, "valid": r.get("valid"), "test": r["test"], "run_dir": r["run_dir"]}
            for s, r in zip(seeds, runs)
        ],
    }
    atomic_write_json(study.folder / "final.json", result)
    return result


def space_rows(space: Mapping[str, Dimension]) -> list[dict[str, str]]:
    """``[{"setting": ..., "range": ...}]`` for a table."""
    return [{"setting": k, "range": describe(d)} for k, d in space.items()]
