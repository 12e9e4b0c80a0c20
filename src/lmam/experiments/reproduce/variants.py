"""The runs the paper's tables are made of, each named once so tables share them.

A variant is a dict of :class:`lmam.train.TrainConfig` fields (as in
:func:`lmam.experiments.grid.run_grid`). Every table of one dataset trains
into the same folder, so a run two tables need (EmoCaps* is in Tables II, V,
VI, VII, IX, X and XI) is trained once and reused by the others.

Naming: ``<backbone>`` is the backbone with its own fusion (concatenation for
TextCNN, bc-LSTM, DialogueRNN and DialogueGCN; the built-in fusion alone,
``fusion="none"``, for MM-DFN, M2FNet and EmoCaps); ``<backbone>-lmam`` adds
LMAM at the default embedding point (early fusion with a residual connection,
the paper's Fig. 4 (b), its "*" rows); ``<backbone>-lmam-early`` is early
fusion without the residual (Table XI's "*" rows); ``bclstm-att`` is
bc-LSTM+Att; ``<backbone>-wide`` is the backbone widened to the parameter
count of its LMAM version (Table V's diamond rows); ``emocaps-slot-<fusion>``
puts a fusion in EmoCaps' fusion slot (Table IX); ``emocaps-lmam-<t|a|v...>``
uses a modality subset (Table X); ``emocaps-lmam-rank<r>`` sets LMAM's rank
(Fig. 5).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from lmam.data.dataset import WORDS, ConversationDataset
from lmam.models.registry import backbones as registered
from lmam.models.registry import get_backbone
from lmam.train.build import build_model, with_speaker_count
from lmam.train.config import TrainConfig


def backbones() -> list[str]:
    """The backbones of the tables: every registered one, the paper's seven first in the
    order of its tables (:func:`lmam.models.backbones`)."""
    return [spec.name for spec in registered()]


def label(backbone: str) -> str:
    """The backbone's name in the tables (``"bc-LSTM"``), from its spec."""
    return get_backbone(backbone).label


NAMED_OPTIONS: dict[str, dict[str, Any]] = {"textcnn": {"over": "projected"}}
"""Options written out in the tables' configs although they are the defaults: TextCNN's
reading changed (``over="features"`` did not fit), and naming it keeps the records of
the runs made with the old reading from being taken for the new one."""


def base(backbone: str) -> dict[str, Any]:
    """The backbone with its own fusion."""
    fusion = "none" if get_backbone(backbone).own_fusion else "concat"
    return {"backbone": backbone, "fusion": fusion, "embed": "early", **_named(backbone)}


def star(backbone: str, embed: str = "early_residual") -> dict[str, Any]:
    """The backbone with LMAM (default options) at ``embed``."""
    return {"backbone": backbone, "fusion": "lmam", "embed": embed, **_named(backbone)}


def words(lmam: bool = False) -> dict[str, Any]:
    """TextCNN as Kim's CNN over each utterance's words, for a dataset that has them
    (``iemocap-text``, ``meld-text``); with ``lmam``, LMAM after it over the utterances'
    CNN vectors (``embed="late"``: the words themselves are ids, nothing to fuse)."""
    variant = star("textcnn", "late") if lmam else base("textcnn")
    return {**variant, "modalities": [WORDS], "model_options": {"over": "words"}}


def _named(backbone: str) -> dict[str, Any]:
    options = NAMED_OPTIONS.get(backbone)
    return {"model_options": dict(options)} if options else {}


def attention() -> dict[str, Any]:
    """bc-LSTM+Att: bc-LSTM with its attention over the conversation."""
    return {**base("bclstm"), "model_options": {"attention": True}}


def slot(fusion: str) -> dict[str, Any]:
    """EmoCaps with ``fusion`` in its fusion slot (its own embedding points unchanged)."""
    return {**base("emocaps"), "model_options": {"slot_fusion": fusion}}


def lora_star(base_run: str) -> dict[str, Any]:
    """EmoCaps with LoRA in its slot whose frozen base is the self-attention slot of ``base_run``."""
    return {**base("emocaps"), "model_options": {"slot_fusion": "lora", "slot_base_run": base_run}}


def modalities(subset: list[str]) -> dict[str, Any]:
    """EmoCaps* on a subset of the modalities."""
    return {**star("emocaps"), "modalities": list(subset)}


def rank(r: int) -> dict[str, Any]:
    """EmoCaps* with LMAM's rank set to ``r``."""
    return {**star("emocaps"), "fusion_options": {"rank": r}}


def build(config: TrainConfig, ds: ConversationDataset) -> nn.Module:
    """The model a run of ``config`` on ``ds`` trains (freshly initialised)."""
    return build_model(with_speaker_count(config, ds), ds)


def parameters(config: TrainConfig, ds: ConversationDataset) -> int:
    """Trainable parameters of the model ``config`` builds for ``ds``."""
    return sum(p.numel() for p in build(config, ds).parameters() if p.requires_grad)


def widened(
    config: TrainConfig, backbone: str, ds: ConversationDataset
) -> tuple[dict[str, Any], int]:
    """Table V's diamond row: the backbone widened to the parameter count of its LMAM version.

    The backbone's width option (its spec's ``width_option``) is the smallest value at
    or above its default whose parameter count is nearest to that of
    ``star(backbone)`` under ``config``; found by bisection (the count grows
    with the width).

    Returns:
        the variant, and the parameter count it aims at.
    """
    spec = get_backbone(backbone)
    option, step = spec.width_option, spec.width_step
    default = spec.default(option)
    target = parameters(dataclasses.replace(config, **star(backbone)), ds)

    def count(k: int) -> int:  # the parameters at width k * step
        variant = {**base(backbone), "model_options": {option: k * step}}
        return parameters(dataclasses.replace(config, **variant), ds)

    lo = hi = int(default) // step
    while count(hi) < target and hi < 64 * lo:
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # count(lo) < target <= count(hi), or hi is the cap
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if count(mid) < target else (lo, mid)
    k = min((lo, hi), key=lambda w: abs(count(w) - target))
    return {**base(backbone), "model_options": {option: k * step}}, target
