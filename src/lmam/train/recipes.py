"""Training recipes: named sets of settings, each fixed in advance and saying where it comes from.

``lmam train --recipe NAME`` starts from a recipe (flags given on the command
line override it, as with ``--config``); ``lmam recipes`` lists them. No
setting of a recipe was chosen by looking at test results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lmam.errors import OptionError
from lmam.options import closest


@dataclass(frozen=True)
class Recipe:
    """A named set of :class:`~lmam.train.TrainConfig` fields and their provenance."""

    name: str
    summary: str
    source: str
    settings: dict[str, Any] = field(default_factory=dict)


RECIPES: dict[str, Recipe] = {
    "cima": Recipe(
        name="cima",
        summary=(
            "contextual inter-modal attention: per-modality BiGRU(300), input and recurrent "
            "dropout 0.5, dropout 0.7, dense 100 tanh, MMMU-BA, Adam 1e-3, batch 32, 15 epochs"
        ),
        source=(
            "Ghosal et al., EMNLP 2018, and their public Keras code (trimodal MOSI model): "
            "every setting, the 15 epochs and Keras' default initialisation included, is "
            "theirs; no feature standardisation, as in their code. fusion_dim 900 is the "
            "concatenation of the three bi-modal attentions and the three modalities (for "
            "three modalities of 100). As their script, it trains on the first int(62 x 0.8) = 49 "
            "training videos of CMU-MOSI and keeps the other 13 out (here: the validation split, "
            "never used to select)."
        ),
        settings={
            "dataset": "mosi",
            "dataset_options": {"valid_split": "tail", "valid_fraction": 0.2},
            "backbone": "bclstm",
            "embed": "late",
            "fusion": "mmmu_ba",
            "fusion_dim": 900,
            "model_options": {
                "hidden": 300,
                "dense": 100,
                "cell": "gru",
                "input_dropout": 0.5,
                "recurrent_dropout": 0.5,
                "activation": "tanh",
                "head_dropout": 0.0,
                "init": "keras",
            },
            "dropout": 0.7,
            "batch_size": 32,
            "epochs": 15,
            "lr": 1e-3,
            "weight_decay": 0.0,
            "normalize": "none",
            "select": "last",
        },
    ),
}


def get_recipe(name: str) -> Recipe:
    """The recipe ``name``.

    Raises:
        OptionError: an unknown name, listing the known ones.
    """
    if name not in RECIPES:
        known = list(RECIPES)
        raise OptionError(
            f"unknown recipe {name!r}{closest(name, known)}; known recipes: {', '.join(known)}"
        )
    return RECIPES[name]
