"""MMMU-BA against a plain loop over the utterances of one dialogue at a time."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from lmam import create_fusion

DIMS = {"text": 6, "audio": 6, "visual": 6}


def reference(fusion, feats, mask):
    """Utterance by utterance, dialogue by dialogue, unpadded, with plain Python sums."""
    names = list(fusion.in_dims)
    pairs = (
        list(itertools.combinations(range(len(names)), 2))
        if fusion.pairs_option == "all"
        else [(names.index("text"), k) for k in range(len(names)) if names[k] != "text"]
    )
    batch, length = mask.shape
    out = torch.zeros(batch, length, fusion.fused_dim)
    for b in range(batch):
        n = int(mask[b].sum())
        xs = [feats[m][b, :n] for m in names]
        for t in range(n):
            row = []
            for i, j in pairs:
                for a, c in ((i, j), (j, i)):
                    scores = [float(xs[a][t] @ xs[c][k]) for k in range(n)]
                    top = max(scores)
                    weights = [math.exp(s - top) for s in scores]
                    total = sum(weights)
                    attended = sum(w / total * xs[c][k] for k, w in enumerate(weights))
                    row.append(attended * xs[a][t])
            row += [x[t] for x in xs]
            out[b, t] = torch.cat(row)
    return fusion.out(out).masked_fill(~mask.unsqueeze(-1), 0.0)


@pytest.mark.parametrize("pairs", ["all", "text"])
@pytest.mark.parametrize("modalities", [("text", "audio"), ("text", "audio", "visual")])
def test_equals_the_per_utterance_loop(pairs, modalities):
    torch.manual_seed(0)
    dims = {m: DIMS[m] for m in modalities}
    fusion = create_fusion("mmmu_ba", in_dims=dims, out_dim=7, pairs=pairs)
    feats = {m: torch.randn(3, 5, d) for m, d in dims.items()}
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    n_pairs = len(modalities) - 1 if pairs == "text" else math.comb(len(modalities), 2)
    assert fusion.fused_dim == (2 * n_pairs + len(modalities)) * 6
    torch.testing.assert_close(fusion(feats, mask), reference(fusion, feats, mask))


def test_other_widths_are_projected_and_out_dim_can_be_the_plain_width():
    fusion = create_fusion("mmmu_ba", in_dims={"text": 6, "audio": 6}, out_dim=24)
    assert sum(p.numel() for p in fusion.parameters()) == 0  # [A_t; A_a; x_t; x_a]: 4 x 6
    fusion = create_fusion("mmmu_ba", in_dims={"text": 6, "audio": 4}, out_dim=5)
    assert set(fusion.proj) == {"audio"}


def test_text_pairs_need_text():
    with pytest.raises(ValueError, match="pairs='text' needs a 'text' modality"):
        create_fusion("mmmu_ba", in_dims={"audio": 3, "visual": 3}, out_dim=3, pairs="text")
