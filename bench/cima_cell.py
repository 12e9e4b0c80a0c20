"""The ``cima`` recipe with torch's GRU against Keras 2's GRU (the cell of the published code).

Ghosal et al.'s code ran on Keras 2 (2018), whose GRU applies the reset gate
before the recurrent product and uses hard-sigmoid gates; torch's GRU resets
after the product and uses the logistic sigmoid. Everything else is the
``cima`` recipe; MMMU-BA with both cells, concatenation and LMAM with Keras 2's.
Paired t-tests over the seeds.

    python -m bench.cima_cell [--seeds 5] [--threads 1] [--json bench/results/cima_cell_mosi.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lmam.experiments.compare import compare
from lmam.train.config import TrainConfig
from lmam.train.recipes import get_recipe


def with_cell(changes: dict[str, Any], cell: str, options: dict[str, Any]) -> dict[str, Any]:
    return {**changes, "model_options": {**options, "cell": cell}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=Path("runs/experiments/cima_cell"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    settings = dict(get_recipe("cima").settings)
    options = dict(settings["model_options"])
    base = TrainConfig.from_dict({**settings, "dataset": "mosi", "threads": args.threads})
    variants = {
        "mmmu_ba-gru": with_cell({}, "gru", options),
        "mmmu_ba-gru_keras2": with_cell({}, "gru_keras2", options),
        "concat-gru_keras2": with_cell(
            {"fusion": "concat", "fusion_dim": 300}, "gru_keras2", options
        ),
        "lmam-gru_keras2": with_cell({"fusion": "lmam", "fusion_dim": None}, "gru_keras2", options),
    }
    compare(
        base,
        variants,
        list(range(args.seeds)),
        args.out_dir / "mosi",
        ["accuracy", "weighted_f1"],
        f"mosi, cima recipe, {args.seeds} seeds",
        False,
        args.json,
        ttests=[
            ("mmmu_ba-gru_keras2", "mmmu_ba-gru"),
            ("lmam-gru_keras2", "concat-gru_keras2"),
            ("mmmu_ba-gru_keras2", "concat-gru_keras2"),
        ],
    )


if __name__ == "__main__":
    main()
