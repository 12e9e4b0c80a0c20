"""EmoCaps (Li et al., Findings of ACL 2022): Emoformer, emotion capsule, bc-LSTM.

1. Emoformer, per modality ``m``: a linear map of the utterance features
   ``x_m`` to ``dim``, ``layers`` Transformer encoder layers over the
   utterances of the dialogue (:class:`~lmam.nn.transformer.TransformerLayer`,
   key padding masked), then a linear map and ReLU to the emotion vector
   ``e_m`` (``emotion_dim`` wide).
2. Emotion capsule: per modality the utterance features and their emotion
   vector, ``c_m = [x_m; e_m]``, combined over the modalities in the *fusion
   slot*: ``slot_fusion`` names any registered fusion
   (:func:`lmam.fusion.list_fusions`), built on ``{m: D_m + emotion_dim}``.
   The default, ``"concat"`` at the summed width, is the plain concatenation
   ``[c_text; c_audio; c_visual]`` (no parameters): EmoCaps' own combination.
   ``slot_fusion="lmam"``, ``"self_attention"``, ``"lora"`` ... give the paper's
   Table IX rows; ``slot_dim`` is the slot's output width (default: the
   fusion's own default, e.g. LMAM's narrowest input, else the summed width)
   and ``slot_options`` its options.
3. A bc-LSTM over the conversation: a bidirectional LSTM (``hidden`` per
   direction, :class:`~lmam.nn.rnn.BiLSTM`) over the capsules, whose output
   ``(B, T, 2 hidden)`` is the one stream the model's classifier reads.

The slot is separate from the model's ``fusion``/``embed`` (the contract's
embedding points, :mod:`lmam.models.erc_model`): ``fusion="lmam",
embed="early_residual"`` with the default slot is EmoCaps* (LMAM on the
inputs of the whole backbone); ``slot_fusion="lmam"`` with ``fusion="none"``
is the Table IX row "LMAM in EmoCaps' fusion slot". Auxiliary losses of the
slot's fusion (AuxFormer) reach the training engine through
:meth:`EmoCapsEncoder.aux_losses`.

**LoRA* (Table IX)**: train EmoCaps with ``slot_fusion="self_attention"``,
then EmoCaps with ``slot_fusion="lora"`` and ``slot_base_run=<that run
directory>``: the LoRA fusion's frozen base is the trained self-attention
slot, read from ``<run>/best/model.safetensors`` (safetensors only) by
:func:`load_slot_base`. The slot's width and options must be the same in both
runs (``slot_options`` of the LoRA run may add ``rank``, ``alpha``,
``targets``). Only the slot's base is loaded; the rest of the model starts
fresh. Without ``slot_base_run`` the base is random (the paper's LoRA ◇).

Departures (the authors' release, ``2022.findings-acl.126.software.zip``, was
not read; this follows the paper): the linear map to ``dim`` before the
Emoformer's attention (the feature widths, 100/100/512, need not divide by
the heads); the Emoformer's attention runs over the utterances of the
dialogue (masked), with one post-norm encoder layer by default; the
classifier is the model's single linear layer; defaults (``dim`` 128, 4
heads, ``emotion_dim`` 64, ``hidden`` 128, dropout 0.1) are ours, not tuned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lmam.fusion.lora import LoRAFusion
from lmam.fusion.registry import create_fusion, fusion_factory
from lmam.models.erc_model import default_fusion_dim
from lmam.models.registry import register_backbone
from lmam.nn.fusion_module import FusionModule
from lmam.nn.options import positive_int
from lmam.nn.rnn import BiLSTM
from lmam.nn.transformer import TransformerLayer
from lmam.space import Choice

SLOT_PREFIX = "encoders.all.slot."
"""Where an EmoCaps model (an :class:`~lmam.models.erc_model.ERCModel`) keeps its slot's weights."""


class Emoformer(nn.Module):
    """Utterance features to emotion vectors over one modality of a conversation.

    ``forward(x: (B, T, D), mask: (B, T)) -> (B, T, emotion_dim)``, zeros at padding.
    """

    def __init__(
        self,
        in_dim: int,
        dim: int,
        heads: int,
        layers: int,
        ff: int,
        emotion_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        positive_int("layers", layers)
        positive_int("emotion_dim", emotion_dim)
        self.proj = nn.Linear(in_dim, dim)
        self.layers = nn.ModuleList(
            TransformerLayer(dim, heads, ff, dropout) for _ in range(layers)
        )
        self.emotion = nn.Linear(dim, emotion_dim)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        keep = mask.to(torch.bool)
        h = self.proj(x).masked_fill(~keep.unsqueeze(-1), 0.0)
        for layer in self.layers:
            h = layer(h, keep)
        return torch.relu(self.emotion(h)).masked_fill(~keep.unsqueeze(-1), 0.0)


class EmoCapsEncoder(nn.Module):
    """EmoCaps over a batch of conversations; multimodal by design.

    Args:
        in_dims: ``{m: D_m}``.
        num_classes: passed to a slot fusion that wants it (AuxFormer).
        dim, heads, layers, ff: the Emoformer's width, heads, layers and
            feed-forward width.
        emotion_dim: width of the emotion vectors.
        hidden: the bc-LSTM's width per direction.
        slot_fusion: the registered fusion combining the capsule parts.
        slot_dim: its output width (``None``: the fusion's default).
        slot_options: its options.
        slot_base_run: a run whose trained self-attention slot becomes the frozen
            base of ``slot_fusion="lora"`` (LoRA*; :func:`load_slot_base`).
        dropout: dropout in the Emoformer and on the capsules.

    ``forward(feats: {m: (B, T, D_m)}, mask: (B, T), speakers: (B, T))
    -> {"context": (B, T, 2 hidden)}`` (zeros at padding).
    """

    multimodal = True

    def __init__(
        self,
        in_dims: Mapping[str, int],
        num_classes: int = 0,
        dim: int = 128,
        heads: int = 4,
        layers: int = 1,
        ff: int = 256,
        emotion_dim: int = 64,
        hidden: int = 128,
        slot_fusion: str = "concat",
        slot_dim: int | None = None,
        slot_options: Mapping[str, object] | None = None,
        slot_base_run: str | None = None,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        positive_int("hidden", hidden)
        if slot_base_run is not None and slot_fusion != "lora":
            raise ValueError(f"slot_base_run needs slot_fusion='lora', got {slot_fusion!r}")
        self.modalities = tuple(in_dims)
        self.emoformers = nn.ModuleDict(
            {
                m: Emoformer(d, dim, heads, layers, ff, emotion_dim, dropout)
                for m, d in in_dims.items()
            }
        )
        parts = {m: d + emotion_dim for m, d in in_dims.items()}
        total = sum(parts.values())
        width = slot_dim or default_fusion_dim(slot_fusion, parts, total)
        options = dict(slot_options or {})
        if getattr(fusion_factory(slot_fusion), "wants_num_classes", False):
            options.setdefault("num_classes", num_classes)
        self.slot_fusion = slot_fusion
        self.slot: FusionModule = create_fusion(
            slot_fusion, in_dims=parts, out_dim=width, **options
        )
        self.drop = nn.Dropout(dropout)
        self.lstm = BiLSTM(self.slot.out_dim, hidden)
        self.out_dims = {"context": 2 * hidden}
        if slot_base_run is not None:
            load_slot_base(self.slot, slot_base_run)

    def capsules(self, feats: Mapping[str, Tensor], keep: Tensor) -> dict[str, Tensor]:
        """The emotion capsule's parts ``{m: [x_m; e_m]}``, ``(B, T, D_m + emotion_dim)``."""
        return {
            m: torch.cat([feats[m], self.emoformers[m](feats[m], keep)], -1)
            for m in self.modalities
        }

    def forward(
        self, feats: Mapping[str, Tensor], mask: Tensor, speakers: Tensor
    ) -> dict[str, Tensor]:
        keep = mask.to(torch.bool)
        capsule = self.slot(self.capsules(feats, keep), keep)
        return {"context": self.lstm(self.drop(capsule), keep)}

    def aux_losses(self, labels: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """The slot fusion's auxiliary losses of the last forward pass, as ``slot.<name>``."""
        return {f"slot.{k}": v for k, v in self.slot.aux_losses(labels, mask).items()}


def slot_weights(run: str | Path) -> dict[str, Tensor]:
    """The slot's state dict stored in an EmoCaps run (safetensors only).

    Args:
        run: a run directory (its ``best/model.safetensors`` is read), or a
            ``.safetensors`` file of an EmoCaps model's state dict.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the run is not an EmoCaps run with a self-attention slot
            (from its ``model.json``, when present), or holds no slot weights.
    """
    from safetensors.torch import load_file

    path = Path(run)
    if path.is_dir():
        path = path / "best" / "model.safetensors"
    if path.suffix != ".safetensors" or not path.is_file():
        raise FileNotFoundError(f"{path}: no EmoCaps checkpoint (a run's best/model.safetensors)")
    description = path.with_suffix(".json")
    if description.is_file():
        config: dict[str, Any] = json.loads(description.read_text()).get("config", {})
        options = config.get("model_options", {})
        backbone, slot = config.get("backbone"), options.get("slot_fusion", "concat")
        if backbone != "emocaps" or slot != "self_attention":
            raise ValueError(
                f"{path}: the LoRA* base must come from EmoCaps with "
                f"slot_fusion='self_attention', this run is {backbone!r} with slot {slot!r}"
            )
    state = {
        k[len(SLOT_PREFIX) :]: v
        for k, v in load_file(str(path)).items()
        if k.startswith(SLOT_PREFIX)
    }
    if not state:
        raise ValueError(f"{path}: no weights under {SLOT_PREFIX!r} (not an EmoCaps model)")
    return state


def load_slot_base(slot: nn.Module, run: str | Path) -> None:
    """Load a trained self-attention slot (see :func:`slot_weights`) as the
    frozen base of the LoRA fusion ``slot``; the adapters are left as they are.

    Raises:
        TypeError: ``slot`` is not a :class:`~lmam.fusion.lora.LoRAFusion`.
        ValueError: the stored weights do not fit the base (other widths or options).
    """
    if not isinstance(slot, LoRAFusion):
        raise TypeError(f"slot_base_run needs slot_fusion='lora', got {type(slot).__name__}")
    state = slot_weights(run)
    try:
        result = slot.base.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise ValueError(f"{run}: the stored self-attention slot does not fit: {err}") from err
    missing = [k for k in result.missing_keys if not k.endswith((".lora_A", ".lora_B"))]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"{run}: the stored self-attention slot does not fit the LoRA base "
            f"(missing {missing}, unexpected {result.unexpected_keys})"
        )


register_backbone(
    "emocaps",
    EmoCapsEncoder,
    label="EmoCaps",
    description="EmoCaps; by default with its own combination in the slot and no fusion at the "
    'embedding points (``fusion="none"``).',
    multimodal=True,
    own_fusion=True,
    width_option="hidden",
    takes_classes=True,
    dropout_origin="ours (EmoCaps' Emoformer on features; 0.1, a transformer's usual value)",
    space={
        "dim": Choice((64, 128, 256)),
        "hidden": Choice((64, 128, 256)),
        "ff": Choice((128, 256, 512)),
    },
)
