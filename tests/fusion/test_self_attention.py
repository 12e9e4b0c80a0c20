"""The self-attention reference against a plain per-dialogue loop of the design note."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from lmam import create_fusion
from lmam.fusion.self_attention import SelfAttentionFusion

DIMS = {"text": 5, "audio": 5, "visual": 3}  # visual is projected to 5


def reference(module: SelfAttentionFusion, feats, mask):
    """One dialogue and one (target, source) pair at a time, real utterances only."""
    mods = module.modalities
    batch, length = mask.shape
    out = torch.zeros(batch, length, module.out_dim)
    for b in range(batch):
        n = int(mask[b].sum())
        if n == 0:
            continue
        xi = {}
        for m in mods:
            x = feats[m][b, :n]
            if m in module.proj:
                x = module.proj[m](x)
            xi[m] = torch.cat([x, torch.ones(n, 1)], dim=1)
        pos = torch.arange(n)
        diff = pos[None, :] - pos[:, None]
        if module.context == "full":
            allowed = torch.ones(n, n, dtype=torch.bool)
        elif module.context == "causal":
            allowed = diff <= 0
        else:
            allowed = diff.abs() <= int(module.context)
        s = {"dim": 1 / math.sqrt(module.dim + 1), "length": 1 / math.sqrt(n), "none": 1.0}[
            module.scale
        ]
        outs = []
        for i, target in enumerate(mods):
            sources = [mods[j] for j in module.src[i].tolist()]
            q = module.wq[target](xi[target])
            acc = torch.zeros(n, module.dim + 1)
            for src in sources:
                k, v = module.wk[src](xi[src]), module.wv[src](xi[src])
                scores = (s * q @ k.T).masked_fill(~allowed, float("-inf"))
                acc = acc + torch.softmax(scores, dim=1) @ v
            if module.aggregate == "mean":
                acc = acc / len(sources)
            res = F.gelu(xi[target]) if module.residual == "gelu" else xi[target]
            outs.append(F.relu(module.out[target](module.norm[target](acc + res))))
        out[b, :n] = torch.cat(outs, dim=1) if module.combine == "concat" else sum(outs)
    return out


OPTIONS = list(
    itertools.product(
        ["all", "inter", "intra"],
        ["dim", "length", "none"],
        ["full", "causal", 1],
        ["identity", "gelu"],
        ["sum", "mean"],
        ["sum", "concat"],
    )
)


@pytest.mark.parametrize("sources,scale,context,residual,aggregate,combine", OPTIONS)
def test_equals_the_per_dialogue_loop(sources, scale, context, residual, aggregate, combine):
    torch.manual_seed(0)
    module = create_fusion(
        "self_attention",
        in_dims=DIMS,
        out_dim=4,
        dim=5,
        sources=sources,
        scale=scale,
        context=context,
        residual=residual,
        aggregate=aggregate,
        combine=combine,
    ).eval()
    g = torch.Generator().manual_seed(1)
    feats = {m: torch.randn(3, 6, d, generator=g) for m, d in DIMS.items()}
    mask = torch.zeros(3, 6)
    for b, n in enumerate((6, 4, 1)):
        mask[b, :n] = 1
    with torch.no_grad():
        torch.testing.assert_close(
            module(feats, mask), reference(module, feats, mask), atol=1e-5, rtol=1e-5
        )
