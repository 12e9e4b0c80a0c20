"""Row-by-row LMAM, as Algorithm 1 of the paper writes it.

This is the *definition* that the batched :class:`lmam.nn.LMAM` must equal. It
loops over target modalities, source modalities and utterances, calling a
matching attention for one utterance at a time (batched over dialogues only),
exactly like Algorithm 1's ``for modal in xi: for t in modal:``. It is slow
on purpose; use it to check and to time the batched module, never to train.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from lmam.nn.lmam import LMAM
from lmam.nn.masking import masked_softmax


def lmam_rowwise(module: LMAM, feats: Mapping[str, Tensor], mask: Tensor) -> Tensor:
    """Evaluate ``module`` one utterance at a time.

    Args:
        module: the LMAM whose weights to use.
        feats: ``{modality: (B, T, D_m)}``.
        mask: ``(B, T)``, nonzero at real utterances.

    Returns:
        ``(B, T, out_dim)``, equal to ``module(feats, mask)`` up to rounding.
    """
    xi, keep = module.one_pad(feats, mask)
    b, _, t, width = xi.shape
    scale = module.score_scale(keep)
    if isinstance(scale, Tensor):
        scale = scale.view(b, 1)
    ctx = torch.ones(t, t, dtype=torch.bool) if module.context == "full" else None
    if ctx is None:
        pos = torch.arange(t)
        diff = pos[None, :] - pos[:, None]
        ctx = diff <= 0 if module.context == "causal" else diff.abs() <= int(module.context)
    attended = []
    for i, target in enumerate(module.modalities):
        queries = module.query[target](xi[:, i])  # (B, T, d+1): the matching query rows
        sources = module.src[i].tolist()
        rows = []
        for step in range(t):  # one utterance at a time
            acc = xi.new_zeros(b, width)
            for j in sources:
                s = (xi[:, j] @ queries[:, step].unsqueeze(-1)).squeeze(-1) * scale
                if module.score_activation == "tanh":
                    s = torch.tanh(s)
                alpha = masked_softmax(s, keep & ctx[step].unsqueeze(0))  # (B, T)
                acc = acc + (alpha.unsqueeze(1) @ xi[:, j]).squeeze(1)
            rows.append(acc / len(sources) if module.aggregate == "mean" else acc)
        attended.append(torch.stack(rows, dim=1))
    residual = module.residual_of(xi).unbind(1)
    if module.output == "gelu":  # the authors' code: GELU of the attended part, then the residual
        summed = [F.gelu(a) + r for a, r in zip(attended, residual)]
    else:
        summed = [a + r for a, r in zip(attended, residual)]
    return module.finish(summed, keep)
