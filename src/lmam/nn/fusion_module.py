"""The fusion contract shared by every fusion module.

A fusion maps per-modality conversation features to one fused sequence::

    forward(feats: dict[str, Tensor (B, T, D_m)], mask: Tensor (B, T)) -> Tensor (B, T, out_dim)

Modalities are processed in the fixed order of ``in_dims`` (the order given at
construction), whatever the order of the keys in ``feats``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmam.space import SearchSpace


class FusionModule(nn.Module):
    """Base class of every fusion: holds ``in_dims``, ``out_dim`` and checks inputs.

    Every fusion has the one contract ``forward(feats: {m: (B, T, D_m)}, mask: (B, T))
    -> (B, T, out_dim)``, zero at padded utterances; a fusion's own docstring says
    only where it adds to it.

    Attributes:
        in_dims: width of each modality, in the fixed modality order.
        modalities: the modality names, in that order.
        out_dim: width of the fused output.
        space: what ``lmam tune`` searches of the fusion's options (:mod:`lmam.space`;
            empty: the fusion is tuned through the training settings only).
    """

    space: ClassVar[SearchSpace] = {}

    def __init__(self, in_dims: Mapping[str, int], out_dim: int) -> None:
        super().__init__()
        if not in_dims:
            raise ValueError("in_dims must name at least one modality")
        for name, width in in_dims.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"modality names must be non-empty strings, got {name!r}")
            if not isinstance(width, int) or isinstance(width, bool) or width <= 0:
                raise ValueError(f"modality {name!r}: width must be a positive int, got {width!r}")
        if not isinstance(out_dim, int) or isinstance(out_dim, bool) or out_dim <= 0:
            raise ValueError(f"out_dim must be a positive int, got {out_dim!r}")
        self.in_dims: dict[str, int] = dict(in_dims)
        self.modalities: tuple[str, ...] = tuple(in_dims)
        self.out_dim = out_dim

    def extra_repr(self) -> str:
        return f"in_dims={self.in_dims}, out_dim={self.out_dim}"

    def aux_losses(self, labels: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """Auxiliary losses of the last forward pass, which the training engine adds.

        A fusion with auxiliary objectives (e.g. AuxFormer's unimodal branches)
        keeps what it needs during ``forward`` and turns it into named scalar
        losses here. The default has none.

        Args:
            labels: ``(B, T)`` class ids (or floats for regression).
            mask: ``(B, T)``, nonzero at real utterances.
        """
        return {}

    def prepare(self, feats: Mapping[str, Tensor], mask: Tensor) -> tuple[list[Tensor], Tensor]:
        """Check ``feats`` and ``mask`` and zero the padded positions.

        Args:
            feats: ``{modality: (B, T, D_m)}``, exactly the modalities of ``in_dims``.
            mask: ``(B, T)``, nonzero (or true) at real utterances.

        Returns:
            The features as a list in modality order, each ``(B, T, D_m)`` with
            padded positions set to zero (so padding values can never leak),
            and the mask as a boolean ``(B, T)`` tensor.

        Raises:
            ValueError: naming the modality, when a key is missing or unknown,
                a tensor is not 3-d, its width is not the declared one, or its
                batch or time size disagrees with the mask.
        """
        return check_inputs(self.in_dims, feats, mask)


def check_inputs(
    in_dims: Mapping[str, int],
    feats: Mapping[str, Tensor],
    mask: Tensor,
    zero_padding: bool = True,
) -> tuple[list[Tensor], Tensor]:
    """See :meth:`FusionModule.prepare`. With ``zero_padding=False`` the
    features are returned as given, for callers that zero the padding later."""
    if not isinstance(mask, Tensor) or mask.dim() != 2:
        shape = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a (B, T) tensor, got {shape}")
    missing = [m for m in in_dims if m not in feats]
    if missing:
        raise ValueError(
            f"missing modality {missing[0]!r}: expected {list(in_dims)}, got {list(feats)}"
        )
    unknown = [m for m in feats if m not in in_dims]
    if unknown:
        raise ValueError(
            f"unknown modality {unknown[0]!r}: this fusion was built for {list(in_dims)}"
        )
    batch, length = mask.shape
    if batch == 0 or length == 0:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)}: an empty batch (no dialogue, or no "
            "utterance), nothing to fuse"
        )
    keep = mask.to(torch.bool)
    out: list[Tensor] = []
    for name, width in in_dims.items():
        x = feats[name]
        if not isinstance(x, Tensor) or x.dim() != 3:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"modality {name!r}: expected a (B, T, D) tensor, got {shape}")
        if x.shape[0] != batch:
            raise ValueError(
                f"modality {name!r}: batch size {x.shape[0]} does not match the mask's {batch}"
            )
        if x.shape[1] != length:
            raise ValueError(
                f"modality {name!r}: {x.shape[1]} utterances (time size) "
                f"do not match the mask's {length}"
            )
        if x.shape[2] != width:
            raise ValueError(f"modality {name!r}: width {x.shape[2]} is not the declared {width}")
        if not x.is_floating_point():
            raise ValueError(f"modality {name!r}: features must be floating point, got {x.dtype}")
        out.append(x.masked_fill(~keep.unsqueeze(-1), 0.0) if zero_padding else x)
    return out, keep
