"""Every model takes every fusion at every embedding point (registry-parametrized)."""

from __future__ import annotations

import pytest
import torch

from lmam import list_fusions
from lmam.models import EMBEDS, create_model, list_models

DIMS = {"text": 10, "audio": 6, "visual": 8}


def small(name: str, fusion: str, embed: str, **extra):
    torch.manual_seed(0)
    options = {"hidden": 8, "dense": 8} if name == "bclstm" else {}
    return create_model(
        name, in_dims=DIMS, num_classes=3, fusion=fusion, embed=embed, **options, **extra
    )


def batch(lengths=(5, 3, 1), length=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = {m: torch.randn(len(lengths), length, d, generator=g) for m, d in DIMS.items()}
    mask = torch.zeros(len(lengths), length, dtype=torch.bool)
    for b, n in enumerate(lengths):
        mask[b, :n] = True
    speakers = torch.randint(0, 2, (len(lengths), length), generator=g)
    return feats, mask, speakers


def test_registry():
    assert "bclstm" in list_models()
    with pytest.raises(ValueError, match=r"unknown model 'nope'.*bclstm"):
        create_model("nope", in_dims=DIMS, num_classes=3)
    with pytest.raises(ValueError, match="embed"):
        small("bclstm", "concat", "middle")


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("fusion", list_fusions())
@pytest.mark.parametrize("embed", EMBEDS)
def test_any_fusion_at_any_embedding_point(name, fusion, embed):
    model = small(name, fusion, embed)
    feats, mask, speakers = batch()
    logits = model(feats, mask, speakers)
    assert logits.shape == (3, 5, 3)
    assert torch.isfinite(logits).all()
    assert torch.all(logits[~mask] == 0)
    labels = torch.randint(0, 3, (3, 5))
    loss = torch.nn.functional.cross_entropy(logits[mask], labels[mask])
    for aux in model.aux_losses(labels, mask).values():
        loss = loss + aux
    loss.backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("embed", EMBEDS)
@pytest.mark.parametrize("fusion", ["concat", "lmam"])
def test_padding_invariance(name, embed, fusion):
    model = small(name, fusion, embed).eval()
    feats, mask, speakers = batch()
    longer = {m: torch.cat([x, 9 * torch.randn(3, 4, x.shape[2])], 1) for m, x in feats.items()}
    longer_mask = torch.cat([mask, torch.zeros(3, 4, dtype=torch.bool)], 1)
    longer_speakers = torch.cat([speakers, torch.ones(3, 4, dtype=torch.long)], 1)
    with torch.no_grad():
        a = model(feats, mask, speakers)
        b = model(longer, longer_mask, longer_speakers)
    torch.testing.assert_close(b[:, :5], a, atol=1e-5, rtol=1e-5)


def test_attention_variant_adds_the_matching_attention():
    plain = small("bclstm", "concat", "early")
    att = small("bclstm", "concat", "early", attention=True)
    extra = sum(p.numel() for p in att.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == 16 * 16 + 16  # general2 transform over the 2*hidden LSTM outputs


def test_embedding_points_wire_the_fusion_where_documented():
    early = small("bclstm", "lmam", "early")
    assert early.encoders["all"].lstm.fwd.input_size == early.fusion.out_dim == 24
    residual = small("bclstm", "lmam", "early_residual")
    assert residual.encoders["all"].lstm.fwd.input_size == 24
    assert residual.residual_proj.in_features == residual.fusion.out_dim
    late = small("bclstm", "lmam", "late")
    assert set(late.encoders) == set(DIMS)
    assert late.fusion.in_dims == dict.fromkeys(DIMS, 8)
    assert late.classifier.in_features == late.fusion.out_dim
