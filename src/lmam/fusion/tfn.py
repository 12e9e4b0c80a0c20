"""Tensor Fusion Network (Zadeh et al., EMNLP 2017), utterance by utterance.

Also home of the pieces the tensor-fusion family shares (TFN, LMF, Dual-LMF,
Att-LMF): the per-modality input projection, one-padding, the option checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from lmam.fusion.registry import register_fusion
from lmam.nn.fusion_module import FusionModule
from lmam.nn.options import choice, positive_int

ACTIVATIONS = ("relu", "none")


def activate(x: Tensor, activation: str) -> Tensor:
    """``ReLU(x)`` for ``"relu"``, ``x`` for ``"none"``."""
    return F.relu(x) if activation == "relu" else x


def one_pad(z: Tensor) -> Tensor:
    """``[z; 1]``: ``(..., h) -> (..., h + 1)``, so products keep the unimodal terms."""
    return F.pad(z, (0, 1), value=1.0)


class ModalityProjection(nn.Module):
    """The unimodal subnetworks: ``z_m = Dropout(ReLU(Linear_m(x_m)))`` per modality.

    Applied to every utterance independently (no context).

    Args:
        in_dims: ``{modality: D_m}``, in the fixed modality order.
        hidden: the width ``h`` of every ``z_m``.
        dropout: dropout probability on ``z_m``.
    """

    def __init__(self, in_dims: Mapping[str, int], hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.ModuleDict({m: nn.Linear(w, hidden) for m, w in in_dims.items()})
        self.drop = nn.Dropout(dropout)

    def forward(self, xs: Sequence[Tensor]) -> list[Tensor]:
        """Args: xs: ``(B, T, D_m)`` in modality order. Returns: ``(B, T, h)`` each."""
        return [self.drop(F.relu(layer(x))) for layer, x in zip(self.layers.values(), xs)]


def outer_product(zs: Sequence[Tensor]) -> Tensor:
    """Flattened outer product of the last dimensions.

    Args:
        zs: ``(..., k_m)`` each, same leading shape.

    Returns:
        ``(..., prod_m k_m)``, row-major: the first tensor's index varies slowest.
    """
    acc = zs[0]
    for z in zs[1:]:
        acc = (acc.unsqueeze(-1) * z.unsqueeze(-2)).flatten(-2)
    return acc


class TensorFamilyFusion(FusionModule):
    """What TFN, LMF, Dual-LMF and Att-LMF share: the unimodal subnetworks
    (:class:`ModalityProjection`, attribute ``proj``) and the output activation.

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        hidden: width ``h`` of every unimodal ``z_m``.
        activation: ``"relu"`` (default) or ``"none"`` after the fusion.
        dropout: dropout on the ``z_m``.
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        hidden: int = 16,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_dims, out_dim)
        self.hidden = positive_int("hidden", hidden)
        self.activation = choice("activation", activation, ACTIVATIONS)
        self.dropout = dropout
        self.proj = ModalityProjection(self.in_dims, hidden, dropout)

    def finish(self, fused: Tensor, keep: Tensor) -> Tensor:
        """Activation, then zeros at padding: ``(B, T, out_dim) -> (B, T, out_dim)``."""
        return activate(fused, self.activation).masked_fill(~keep.unsqueeze(-1), 0.0)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, hidden={self.hidden}, activation={self.activation!r}"


@register_fusion("tfn")
class TensorFusion(TensorFamilyFusion):
    """Tensor Fusion Network: the outer product of the one-padded modalities.

    Paper: Zadeh et al., "Tensor Fusion Network for Multimodal Sentiment
    Analysis" (EMNLP 2017). For every utterance::

        z_m = ReLU(Linear_m(x_m))                       (h wide, per modality)
        Z   = [z_1; 1] (x) [z_2; 1] (x) ... (x) [z_M; 1] ((h+1)^M entries)
        out = ReLU(W vec(Z) + b)                        (out_dim wide)

    The appended 1 keeps every unimodal and bimodal term inside the product.

    Departures from the paper: the unimodal subnetworks are one ``Linear`` +
    ReLU each (the paper uses an LSTM over words for text and small MLPs for
    audio and video) because our inputs are already utterance vectors; the
    post-fusion network is one ``Linear`` + ReLU (the paper stacks two hidden
    layers and the output layer; the classifier after a fusion does that
    here); the fusion is applied utterance by utterance, so there is no
    context and padding cannot leak. The fusion weight has
    ``(h+1)^M * out_dim`` entries: keep ``hidden`` small.

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        **options: ``hidden`` (width ``h``, default 16), ``activation`` and
            ``dropout`` of :class:`TensorFamilyFusion`.
    """

    def __init__(self, in_dims: Mapping[str, int], out_dim: int, **options: object) -> None:
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        self.fusion = nn.Linear((self.hidden + 1) ** len(self.modalities), out_dim)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        tensor = outer_product([one_pad(z) for z in self.proj(xs)])
        return self.finish(self.fusion(tensor), keep)
