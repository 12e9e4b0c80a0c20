"""Dual Low-rank Multimodal Fusion (Jin et al., Findings of EMNLP 2020) over utterance windows."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmam.fusion.lmf import LowRankFusion
from lmam.fusion.registry import register_fusion
from lmam.fusion.tfn import TensorFamilyFusion


@register_fusion("dual_lmf")
class DualLMFFusion(TensorFamilyFusion):
    """Low-rank fusion whose weight is low-rank along both time and features.

    Paper: Jin et al., "Dual Low-Rank Multimodal Fusion" (Findings of EMNLP
    2020). Their FT-LMF fuses every time step of every modality with every
    other (a weight over time *and* features); Dual-LMF makes each rank-one
    component of that weight a product, per modality, of a time factor
    ``a_m[k]`` and a feature factor ``F_m[k]``, so that it costs about as much
    as LMF. Our reading, with the time axis being the utterances of a window
    of ``w`` on either side of the target utterance ``t``::

        P_m[s, k] = [z_m(s); 1] @ F_m[k]                    (zero at padded s)
        H_m[t, k] = sum_{|o| <= w} a_m[k, o] P_m[t + o, k]  (time factor)
        out[t]    = ReLU(sum_k w_k prod_m H_m[t, k] + b)

    Departures: the paper's time steps are the frames/words inside one
    sequence; our inputs are one vector per utterance, and utterance-wise the
    time factor is a single number per rank (``window=0``: the method is then
    exactly LMF with rescaled factors, which the tests check). So the default
    ``window=1`` uses the neighbouring utterances of the dialogue as the time
    axis, a local fine-grained temporal fusion. Positions outside the dialogue
    (padding, or before its start) contribute zero, so padding never leaks.
    Unimodal subnetworks and output ReLU as :class:`~lmam.fusion.lmf.LMFFusion`.

    Args:
        in_dims: ``{modality: D_m}``, any number of modalities.
        out_dim: output width.
        rank: the rank ``r`` of the components.
        window: ``w``, utterances on either side in the time factor (0: utterance-wise).
        **options: ``hidden`` (default 16), ``activation``, ``dropout`` of
            :class:`~lmam.fusion.tfn.TensorFamilyFusion`.
    """

    def __init__(
        self,
        in_dims: Mapping[str, int],
        out_dim: int,
        *,
        rank: int = 4,
        window: int = 1,
        **options: object,
    ) -> None:
        super().__init__(in_dims, out_dim, **options)  # type: ignore[arg-type]
        if not isinstance(window, int) or isinstance(window, bool) or window < 0:
            raise ValueError(f"window must be a non-negative int, got {window!r}")
        self.window = window
        self.fusion = LowRankFusion(dict.fromkeys(self.modalities, self.hidden), out_dim, rank)
        # time factors a_m: (r, 2w+1); start as LMF (centre tap 1) plus a little context
        taps = torch.empty(rank, 2 * window + 1).uniform_(-0.1, 0.1)
        taps[:, window] = 1.0
        self.time_factors = nn.ParameterDict(
            {m: nn.Parameter(taps.clone()) for m in self.modalities}
        )

    def temporal(self, term: Tensor, taps: Tensor) -> Tensor:
        """Apply one modality's time factor.

        Args:
            term: ``P_m``: ``(B, T, r, out)``, zero at padded utterances.
            taps: ``a_m``: ``(r, 2w+1)``.

        Returns:
            ``H_m``: ``(B, T, r, out)``.
        """
        w = self.window
        padded = F.pad(term, (0, 0, 0, 0, w, w))  # zeros before the start and after the end
        windows = padded.unfold(1, 2 * w + 1, 1)  # (B, T, r, out, 2w+1)
        return torch.einsum("btkoj,kj->btko", windows, taps)

    def forward(self, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
        """Args: feats: ``{m: (B, T, D_m)}``; mask: ``(B, T)``. Returns: ``(B, T, out_dim)``."""
        xs, keep = self.prepare(feats, mask)
        real = keep.to(xs[0].dtype)[..., None, None]
        terms = [
            self.temporal(term * real, self.time_factors[m])
            for m, term in zip(self.modalities, self.fusion.terms(self.proj(xs)))
        ]
        return self.finish(self.fusion.combine(terms), keep)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.fusion.rank}, window={self.window}"
