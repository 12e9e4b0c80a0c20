"""LoRA (Hu et al., ICLR 2022) on the self-attention fusion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from lmam.fusion.registry import register_fusion
from lmam.fusion.self_attention import SelfAttentionFusion
from lmam.nn.fusion_module import FusionModule
from lmam.nn.lora import LoRALinear

TARGETS = ("wq", "wk", "wv", "out", "proj")


def load_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read a state dict from ``torch.save`` (``weights_only``) or from a ``.safetensors`` file.

    Raises:
        ValueError: when the file does not hold a ``{name: tensor}`` mapping.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: object = load_file(str(path), device="cpu")
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a state dict ({{name: tensor}}), got {type(state)}")
    return dict(state)


def linear_groups(base: SelfAttentionFusion) -> dict[str, nn.ModuleDict]:
    """The base's per-modality ``Linear`` groups by option name (see :data:`TARGETS`)."""
    return {"wq": base.wq, "wk": base.wk, "wv": base.wv, "out": base.out, "proj": base.proj}


@register_fusion("lora")
class LoRAFusion(FusionModule):
    """The self-attention fusion, frozen, adapted by low-rank updates of its weights.

    Paper: Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models"
    (ICLR 2022). Every weight of the base
    :class:`~lmam.fusion.self_attention.SelfAttentionFusion` is frozen
    (``requires_grad=False``); each ``Linear`` named in ``targets`` becomes a
    :class:`~lmam.nn.lora.LoRALinear`, ``W x + s B A x`` with trainable
    ``A: (r, in)`` (Gaussian) and ``B: (out, r)`` (zero), ``s = alpha / r``.
    At initialisation the output is the base's exactly. :meth:`merge`
    folds the adapters back into a plain ``SelfAttentionFusion``.

    The paper adapts a *pre-trained* model: pass ``base_checkpoint`` (a state
    dict of a ``SelfAttentionFusion`` built with the same ``in_dims``,
    ``out_dim`` and options, from ``torch.save`` or a ``.safetensors`` file).
    Without it the frozen base is random (the paper's Table IX "LoRA ◇",
    which does poorly for that reason).

    Departures from the paper: the adapted model is our self-attention
    fusion, not a language model; ``targets`` defaults to the three
    attention weights (the paper adapts ``W^Q`` and ``W^V`` in most
    experiments); its LayerNorms and input/output projections stay frozen
    unless named in ``targets``; no adapter dropout.

    Args:
        in_dims, out_dim: as :class:`~lmam.fusion.self_attention.SelfAttentionFusion`.
        rank: adapter rank ``r``.
        alpha: scale numerator; ``None``: ``alpha = r``.
        targets: which ``Linear`` groups get adapters, among ``"wq"``,
            ``"wk"``, ``"wv"``, ``"out"`` (output projections) and ``"proj"``
            (input projections, present only for modalities of another width).
        base_checkpoint: path of the base's state dict, or ``None``.
        **options: the base's options (``dim``, ``sources``, ``scale``,
            ``context``, ``residual``, ``aggregate``, ``combine``, ``dropout``).
    """

    forwards_options_to = SelfAttentionFusion  # where **options go (see lmam.options)

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        rank: int = 4,
        alpha: float | None = None,
        targets: Sequence[str] = ("wq", "wk", "wv"),
        base_checkpoint: str | Path | None = None,
        **options: object,
    ) -> None:
        unknown = [t for t in targets if t not in TARGETS]
        if unknown or not targets:
            raise ValueError(f"targets must be a non-empty subset of {TARGETS}, got {targets!r}")
        base = SelfAttentionFusion(in_dims, out_dim, **options)
        if base_checkpoint is not None:
            base.load_state_dict(load_state_dict(base_checkpoint))
        super().__init__(in_dims, base.out_dim)
        base.requires_grad_(False)
        groups = linear_groups(base)
        for target in dict.fromkeys(targets):
            layers = groups[target]
            for name in list(layers.keys()):
                layers[name] = LoRALinear(layers[name], rank, alpha)  # type: ignore[arg-type]
        self.base = base
        self.d_out = out_dim
        self.base_options = dict(options)
        self.rank = rank
        self.targets = tuple(dict.fromkeys(targets))

    def adapters(self) -> dict[str, LoRALinear]:
        """The adapted layers by their name inside ``base``."""
        return {n: m for n, m in self.base.named_modules() if isinstance(m, LoRALinear)}

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        return self.base(feats, mask)

    @torch.no_grad()
    def merge(self) -> SelfAttentionFusion:
        """A plain ``SelfAttentionFusion`` whose adapted weights are ``W + s B A``.

        It computes what this module computes, without the adapter matmuls.
        """
        merged = SelfAttentionFusion(self.in_dims, self.d_out, **self.base_options)
        state = {
            k: v
            for k, v in self.base.state_dict().items()
            if not k.endswith((".lora_A", ".lora_B"))
        }
        for name, layer in self.adapters().items():
            state[f"{name}.weight"] = layer.merged_weight()
        merged.load_state_dict(state)
        return merged

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.rank}, targets={self.targets}"
