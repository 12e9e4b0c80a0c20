"""``lmam reproduce design``: which of LMAM's choices carry its effect, on validation only.

The host is bc-LSTM with LMAM at its default embedding point, trained with the
settings its equal-budget study chose on validation
(:mod:`lmam.experiments.reproduce.tuned`, ``runs/tuned/DATASET/bclstm-lmam/best.yaml``, or
where that study is not on this machine, the parameters ``results/tuned/tuned.json`` keeps).
Two measurements per dataset, neither of which reads the test split (every run
is a :class:`~lmam.train.engine.Trainer` with ``use_test=False``):

- **One-factor ablations**: the paper's formulation, and each of its choices
  changed alone (:data:`FACTORS`), on 3 seeds; the validation metric of each,
  its difference from the paper's formulation and a paired t-test over the seeds.
- **Importance**: an Optuna study over LMAM's formulation options together
  (:data:`FORMULATION_SPACE`, the training settings fixed), and Optuna's fANOVA
  importance of each option over its trials.

A default of LMAM changes only if a variant is better than the paper's
formulation on validation on every dataset studied, two at least, with p < 0.05
on each (:func:`decisions`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from lmam.experiments.reproduce.tuned import points as _points
from lmam.experiments.reproduce.tuned import side_config
from lmam.experiments.stats import paired_ttest
from lmam.experiments.tune import (
    StudySettings,
    best_config,
    open_study,
    run_study,
    with_params,
)
from lmam.outputs import atomic_write_json, atomic_write_text
from lmam.space import Choice, Int, SearchSpace
from lmam.train.config import TrainConfig
from lmam.train.metrics import HIGHER_IS_BETTER

PAPER = "paper"
FACTORS: dict[str, dict[str, Any]] = {
    PAPER: {},
    "output=norm (no ReLU)": {"fusion_options": {"output": "norm"}},
    "output=linear (no LayerNorm, no ReLU)": {"fusion_options": {"output": "linear"}},
    "output=gelu (the authors' code)": {"fusion_options": {"output": "gelu"}},
    "activation=none (no tanh)": {"fusion_options": {"activation": "none"}},
    "scale=length": {"fusion_options": {"scale": "length"}},
    "scale=none": {"fusion_options": {"scale": "none"}},
    "rank=15": {"fusion_options": {"rank": 15}},
    "query=full": {"fusion_options": {"query": "full"}},
    "sources=inter": {"fusion_options": {"sources": "inter"}},
    "sources=intra": {"fusion_options": {"sources": "intra"}},
    "embed=early (no residual)": {"embed": "early"},
    "embed=late": {"embed": "late"},
}
"""Each variant: what it changes from the paper's formulation (the tuned host's
LMAM options, rank included, stay as tuned unless the variant changes them)."""

MULTIMODAL_ONLY = ("sources=inter", "sources=intra")
"""Variants that differ from the paper's only with two or more modalities."""

FORMULATION_SPACE: SearchSpace = {
    "fusion_options.output": Choice(("norm_relu", "norm", "linear", "gelu")),
    "fusion_options.activation": Choice(("tanh", "none")),
    "fusion_options.scale": Choice(("dim", "length", "none")),
    "fusion_options.query": Choice(("lowrank", "full")),
    "fusion_options.rank": Int(5, 100, step=5),
    "embed": Choice(("early_residual", "early", "late")),
}
"""The importance study's space: LMAM's formulation, the training settings fixed."""

DATASETS = ("mosi", "iemocap-text", "meld-text")
SEEDS = (0, 1, 2)


def host(tuned_root: Path, dataset: str, record: Path | None = None) -> TrainConfig:
    """The tuned bc-LSTM + LMAM of ``dataset``: its equal-budget study's ``best.yaml``, or,
    where that study is not on this machine, the best parameters the table's ``record``
    (``tuned.json``) keeps of it."""
    path = tuned_root / dataset / "bclstm-lmam" / "best.yaml"
    if path.is_file():
        return TrainConfig.load(path)
    rows = json.loads(record.read_text())["rows"] if record is not None and record.is_file() else []
    for row in rows:
        if (row["dataset"], row["backbone"]) == (dataset, "bclstm") and "params_with" in row:
            return best_config(side_config(dataset, "bclstm", "lmam"), row["params_with"])
    kept = f"{record} keeps no parameters of it" if rows else f"there is no record ({record})"
    raise FileNotFoundError(
        f"{path}: the design study starts from the tuned bc-LSTM + LMAM of {dataset}, and "
        f"{kept}; run lmam reproduce tuned --dataset {dataset} --backbone bclstm first"
    )


def variant_config(
    base: TrainConfig, change: dict[str, Any], folder: Path, seed: int
) -> TrainConfig:
    params = {f"fusion_options.{k}": v for k, v in change.get("fusion_options", {}).items()}
    if "embed" in change:
        params["embed"] = change["embed"]
    return with_params(base, params, seed=seed, out_dir=str(folder), name=f"s{seed}", threads=1)


def validation_run(config: TrainConfig) -> dict[str, Any]:
    """Train one run on train, score it on validation (test never loaded), or reuse it."""
    from lmam.train.engine import Trainer

    done = Path(config.out_dir) / str(config.name) / "summary.json"
    if done.is_file():
        return dict(json.loads(done.read_text()))
    return Trainer(config, quiet=True, use_test=False, overwrite=True).fit()


def ablations(base: TrainConfig, folder: Path, multimodal: bool) -> dict[str, list[float]]:
    """``{variant: [validation metric per seed]}``."""
    metric = str(base.metric)
    out: dict[str, list[float]] = {}
    for index, (name, change) in enumerate(FACTORS.items()):
        if name in MULTIMODAL_ONLY and not multimodal:
            continue
        runs = folder / f"v{index:02d}"
        out[name] = [
            float(validation_run(variant_config(base, change, runs, s))["valid"][metric])
            for s in SEEDS
        ]
    return out


def importance_study(base: TrainConfig, folder: Path, trials: int) -> dict[str, Any]:
    """Optuna's fANOVA importance of LMAM's formulation options (training fixed)."""
    from lmam.experiments import tune

    study = open_study(folder, base, dict(FORMULATION_SPACE), StudySettings(trials=trials))
    best = run_study(study, quiet=True)
    return {"importance": tune.importance(study), "best": best}


def rows(result: dict[str, list[float]], metric: str) -> list[dict[str, Any]]:
    paper = np.asarray(result[PAPER])
    sign = 1.0 if HIGHER_IS_BETTER.get(metric, True) else -1.0
    out = []
    for name, values in result.items():
        v = np.asarray(values)
        p = math.nan if name == PAPER else paired_ttest(v, paper)[1]
        out.append(
            {
                "variant": name,
                "mean": float(v.mean()),
                "std": float(v.std(ddof=1)),
                "delta": float(v.mean() - paper.mean()),
                "better": bool(sign * (v.mean() - paper.mean()) > 0),
                "p": p,
            }
        )
    return out


def decisions(per_dataset: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The variants better than the paper's formulation on validation on every dataset
    studied, two at least, with p < 0.05 on each: the only grounds for changing a default."""
    if len(per_dataset) < 2:
        return []
    names = set.intersection(*({r["variant"] for r in rs} for rs in per_dataset.values()))
    chosen = []
    for name in sorted(names - {PAPER}):
        rs = [next(r for r in rows_ if r["variant"] == name) for rows_ in per_dataset.values()]
        if all(r["better"] and r["p"] < 0.05 for r in rs):
            chosen.append(name)
    return chosen


def markdown(report: dict[str, Any], command: str) -> str:
    lines = [
        "# LMAM design study (validation only)",
        "",
        f"Made by `{command}`. The host is bc-LSTM with LMAM at its default embedding point, "
        "with the training settings its equal-budget study chose on validation "
        "(`runs/tuned/DATASET/bclstm-lmam/best.yaml`, or the parameters `tuned/tuned.json` "
        "keeps where that study is not on the machine). No run of this study loads the test "
        "split. Ablations: the paper's formulation and each choice changed alone, 3 seeds, "
        "mean ± std of the validation metric, Δ against the paper's formulation and a paired "
        "t-test (SciPy `ttest_rel`) over the seeds.",
        "",
    ]
    for dataset, data in report["datasets"].items():
        m = data["metric"]
        lines += [
            f"## {dataset} (validation {m}{', lower is better' if m == 'mae' else ''})"
            + (" (kept from the earlier record of this study)" if data.get("recorded") else "")
            + (
                " (ablations kept from the earlier record)"
                if data.get("ablations_recorded")
                else ""
            ),
            "",
            "| variant | validation | Δ | p |",
            "|:---|---:|---:|---:|",
        ]
        for r in data["rows"]:
            std, delta = (
                (f"{r['std']:.3f}", f"{r['delta']:+.3f}")
                if m == "mae"
                else (f"{100 * r['std']:.2f}", f"{100 * r['delta']:+.2f}")
            )
            lines.append(
                f"| {r['variant']} | {_points(m, r['mean'])} ± {std} | {delta} | {r['p']:.2g} |"
            )
        if data.get("importance"):
            imp = data["importance"]
            lines += [
                "",
                f"Importance over an Optuna study of LMAM's formulation options "
                f"({imp['best']['trials']} trials, training settings fixed; Optuna's fANOVA): "
                + ", ".join(f"{k} {v:.2f}" for k, v in imp["importance"].items())
                + f". Its best trial: {imp['best']['params']}.",
            ]
        lines.append("")
    chosen = report["decisions"]
    lines += [
        "## Decisions",
        "",
        "A default changes only where a variant is better than the paper's formulation on "
        "validation on every dataset studied, two at least, with p < 0.05 on each. "
        + (
            "Met by: " + ", ".join(chosen) + "."
            if chosen
            else "No variant met that bar"
            + (" (one dataset studied)" if len(report["datasets"]) < 2 else "")
            + ": LMAM's defaults stay the paper's formulation."
        ),
    ]
    return "\n".join(lines) + "\n"


def recorded_datasets(out: Path, datasets: list[str]) -> dict[str, Any]:
    """The results of an earlier ``out/design/design.json`` for the datasets other than
    ``datasets`` (their runs may be on another machine; this call keeps them)."""
    recorded = out / "design" / "design.json"
    if not recorded.is_file():
        return {}
    earlier = json.loads(recorded.read_text()).get("datasets", {})
    return {d: {**v, "recorded": True} for d, v in earlier.items() if d not in datasets}


def recorded_ablations(out: Path, dataset: str) -> dict[str, Any]:
    """The ablations of ``dataset`` an earlier ``out/design/design.json`` holds
    (``metric``, ``seeds``, ``values``, ``rows``), for a call that runs only the
    importance study; :class:`FileNotFoundError` naming the record where it has none."""
    recorded = out / "design" / "design.json"
    earlier = json.loads(recorded.read_text()) if recorded.is_file() else {}
    data = earlier.get("datasets", {}).get(dataset, {})
    if "values" not in data:
        raise FileNotFoundError(
            f"{recorded} keeps no ablations of {dataset}: run lmam reproduce design "
            f"--dataset {dataset} with the ablations first"
        )
    kept = {k: data[k] for k in ("metric", "seeds", "values", "rows")}
    return {**kept, "ablations_recorded": True}


def run(
    tuned_root: Path,
    runs_dir: Path,
    out: Path,
    datasets: list[str],
    trials: int,
    command: str,
    with_ablations: bool = True,
) -> Path:
    """The whole study; writes ``out/design/README.md`` and ``design.json``.

    The datasets of an earlier ``design.json`` that this call does not run keep their
    recorded results (their runs may be on another machine), and the decisions are
    taken over all of them. ``with_ablations=False`` runs the importance study alone
    and keeps each dataset's recorded ablations (:func:`recorded_ablations`)."""
    report: dict[str, Any] = {"datasets": recorded_datasets(out, datasets)}
    for dataset in datasets:
        base = host(tuned_root, dataset, out / "tuned" / "tuned.json")
        if with_ablations:
            from lmam.train.build import load_dataset

            multimodal = len(load_dataset(base).modalities) > 1
            result = ablations(base, runs_dir / dataset / "ablations", multimodal)
            data: dict[str, Any] = {
                "metric": base.metric,
                "seeds": list(SEEDS),
                "values": result,
                "rows": rows(result, str(base.metric)),
            }
        else:
            data = recorded_ablations(out, dataset)
        if trials:
            data["importance"] = importance_study(base, runs_dir / dataset / "importance", trials)
        report["datasets"][dataset] = data
        report["decisions"] = decisions({d: v["rows"] for d, v in report["datasets"].items()})
        folder = out / "design"
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / "design.json", report)
        atomic_write_text(folder / "README.md", markdown(report, command))
    return out / "design" / "README.md"
