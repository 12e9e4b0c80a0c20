"""LMF-MulT: one cross-modal transformer per modality, from the low-rank fused stream."""

from __future__ import annotations

import torch

from lmam import create_fusion
from tests.fusion.test_registry import DIMS, inputs


def test_one_cross_modal_transformer_per_modality_fed_by_the_fused_stream():
    fusion = create_fusion("lmf_mult", in_dims=DIMS, out_dim=4)
    assert [len(branch.cross) for branch in fusion.branches.values()] == [1, 1, 1]
    mult = create_fusion("mult", in_dims=DIMS, out_dim=4)
    assert sum(p.numel() for p in fusion.parameters()) < sum(p.numel() for p in mult.parameters())


def test_the_fused_stream_is_an_utterance_wise_low_rank_fusion():
    torch.manual_seed(0)
    fusion = create_fusion("lmf_mult", in_dims=DIMS, out_dim=4).eval()
    feats, mask = inputs(DIMS)
    xs, keep = fusion.prepare(feats, mask)
    with torch.no_grad():
        embedded = fusion.embed(xs)
        fused = fusion.fused_stream(embedded, keep)
        torch.testing.assert_close(fused[keep], fusion.fusion(embedded)[keep])
        assert torch.all(fused[~keep] == 0)
        moved = [e.clone() for e in embedded]
        moved[1][0, 2] += 1.0  # audio, dialogue 0, utterance 2
        differs = (fusion.fused_stream(moved, keep) - fused).abs().amax(-1) > 0
    assert differs[0, 2] and differs.sum() == 1


def test_a_modality_reaches_the_others_only_through_the_fused_stream():
    torch.manual_seed(0)
    fusion = create_fusion("lmf_mult", in_dims=DIMS, out_dim=4).eval()
    feats, mask = inputs(DIMS)
    xs, keep = fusion.prepare(feats, mask)
    allowed = keep.unsqueeze(1)
    with torch.no_grad():
        embedded = fusion.embed(xs)
        fused = fusion.fused_stream(embedded, keep)
        text = fusion.branches["text"]
        before = text(embedded[0], [fused], allowed)
        changed = fusion.embed([xs[0], xs[1] + 1.0, xs[2]])  # audio changes
        after = text(changed[0], [fusion.fused_stream(changed, keep)], allowed)
        assert not torch.allclose(before, after)
        # same fused stream: the text branch does not see audio at all
        torch.testing.assert_close(text(changed[0], [fused], allowed), before)
