"""AuxFormer (Goncalves and Busso, ICASSP 2022): MulT plus unimodal auxiliary branches."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.fusion.mult import MulTFusion
from lmam.fusion.registry import register_fusion
from lmam.nn.attention import attention_mask
from lmam.nn.crossmodal import CrossModalTransformer


class AuxiliaryHead(nn.Module):
    """AuxFormer's auxiliary classifier, shared by every modality::

        logits = Linear(h + MLP(h)),  MLP = Linear -> ReLU -> Dropout -> Linear

    Args:
        dim: input width ``d``.
        num_classes: number of classes.
        dropout: dropout inside the MLP.
    """

    def __init__(self, dim: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim)
        )
        self.classify = nn.Linear(dim, num_classes)

    def forward(self, h: Tensor) -> Tensor:
        """Args: h: ``(B, T, d)``. Returns: ``(B, T, num_classes)``."""
        return self.classify(h + self.mlp(h))


@register_fusion("auxformer")
class AuxFormerFusion(MulTFusion):
    """Cross-modal transformer main branch plus unimodal auxiliary branches with their own losses.

    Paper: Goncalves and Busso, "AuxFormer: Robust Approach to Audiovisual
    Emotion Recognition" (ICASSP 2022). The main branch is MulT's (every
    target modality queries every other one, then self-attention; see
    :class:`~lmam.fusion.mult.MulTFusion`). Each modality also goes through
    its own self-attention encoder, and one auxiliary head shared by all
    modalities classifies every encoded utterance; each auxiliary branch
    adds a cross-entropy loss, which shapes the shared input embeddings so
    that the fused model keeps what each modality alone knows::

        main  = Linear(MulT branches)                        -> forward's output
        aux_m = Head(SelfAttn_m(Embed_m(x_m)))                -> aux_losses: aux_weight * CE

    The auxiliary branches exist only when ``num_classes > 0`` (the training
    engine passes it, see ``wants_num_classes``); with the default 0 the
    module is MulT and :meth:`aux_losses` is empty. They never change
    ``forward``'s output.

    Departures from the paper: any number of modalities (the paper fuses
    audio and video), sequences of utterances of a dialogue with masked keys
    instead of frames, one output per utterance; the main branch ends in a
    ``Linear`` to ``out_dim`` (its classifier is the backbone's); the
    auxiliary encoder is a stack of ``aux_layers`` distinct blocks (the
    authors' code applies one block three times); losses average over real
    utterances only.

    Args:
        in_dims, out_dim: as every fusion.
        num_classes: classes of the auxiliary heads (0: no auxiliary branch).
        aux_weight: weight of each auxiliary loss.
        aux_layers: blocks in each auxiliary encoder.
        **options: ``d_model``, ``heads``, ``layers``, ``context``,
            ``positions``, ``dropout`` of :class:`~lmam.fusion.mult.MulTFusion`.

    Shapes:
        ``forward(feats: {m: (B, T, D_m)}, mask: (B, T)) -> (B, T, out_dim)``;
        auxiliary logits ``(B, T, num_classes)`` per modality, kept for :meth:`aux_losses`.
    """

    wants_num_classes = True

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        num_classes: int = 0,
        aux_weight: float = 1.0,
        aux_layers: int = 1,
        **options: object,
    ) -> None:
        super().__init__(in_dims, out_dim, **options)
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
            raise ValueError(f"num_classes must be a non-negative int, got {num_classes!r}")
        self.num_classes = num_classes
        self.aux_weight = float(aux_weight)
        self.aux_encoders = nn.ModuleDict(
            {
                m: CrossModalTransformer(
                    self.d_model, self.heads, aux_layers, cross=False, dropout=self.dropout
                )
                for m in (self.modalities if num_classes > 0 else ())
            }
        )
        self.aux_head = (
            AuxiliaryHead(self.d_model, num_classes, self.dropout) if num_classes else None
        )
        self.aux_logits: dict[str, Tensor] = {}

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        embedded = self.embed(xs)  # shared by the main and the auxiliary branches
        allowed = attention_mask(keep, self.context)
        self.aux_logits = {}
        if self.aux_head is not None:
            for (name, encoder), e in zip(self.aux_encoders.items(), embedded):
                self.aux_logits[name] = self.aux_head(encoder(e, None, allowed))
        return self.finish(self.out(self.branches(embedded, allowed)), keep)

    def __getstate__(self) -> dict[str, object]:
        """Copies and pickles leave out the last forward's logits (and their graph,
        which ``copy.deepcopy`` refuses)."""
        state = dict(self.__dict__)
        state["aux_logits"] = {}
        return state

    def aux_losses(self, labels: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """``aux_weight`` times each auxiliary branch's loss over the real utterances.

        Cross-entropy for integer labels; mean squared error when
        ``num_classes == 1`` and the labels are floats (regression).

        Args:
            labels: ``(B, T)`` class ids (or floats for regression).
            mask: ``(B, T)``, nonzero at real utterances.

        Returns:
            ``{"aux_<modality>": scalar}``; empty when ``num_classes == 0``.

        Raises:
            RuntimeError: when no forward pass has run yet.
            ValueError: for float labels with ``num_classes > 1``.
        """
        if self.aux_head is None:
            return {}
        if not self.aux_logits:
            raise RuntimeError("aux_losses needs a forward pass first")
        keep = mask.to(torch.bool)
        regression = labels.is_floating_point()
        if regression and self.num_classes != 1:
            raise ValueError(
                f"float labels need num_classes=1 (regression), got num_classes={self.num_classes}"
            )
        losses = {}
        for name, logits in self.aux_logits.items():
            real, target = logits[keep], labels[keep]
            if real.shape[0] == 0:  # no real utterance: a zero that keeps the graph
                loss = logits.sum() * 0.0
            elif regression:
                loss = F.mse_loss(real.squeeze(-1), target.to(real.dtype))
            else:
                loss = F.cross_entropy(real, target.long())
            losses[f"aux_{name}"] = self.aux_weight * loss
        return losses

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, num_classes={self.num_classes}, aux_weight={self.aux_weight}"
        )
