"""M2FNet: its Transformer blocks and its fusion equal a plain per-dialogue
reference (unpadded, written out below), the batch equals each dialogue alone,
padding does not matter, and one modality skips the fusion layers."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from lmam.models import create_model
from lmam.models.m2fnet import M2FNetEncoder
from lmam.nn.attention import MaskedMultiheadAttention
from lmam.nn.transformer import TransformerLayer

DIMS = {"text": 7, "audio": 5, "visual": 6}
SIZES = {"dim": 8, "heads": 2, "layers": 2, "fusion_layers": 2, "ff": 12}
LENGTHS = [7, 4, 1, 3]


def reference_mha(attn: MaskedMultiheadAttention, q, k, v):
    """One dialogue, no padding: ``q (n, d)``, ``k, v (s, d)`` -> ``(n, d)``, head by head."""
    h, d = attn.heads, attn.dim
    dh = d // h
    qq, kk, vv = attn.query(q), attn.key(k), attn.value(v)
    heads = []
    for i in range(h):
        cols = slice(i * dh, (i + 1) * dh)
        w = torch.softmax(qq[:, cols] @ kk[:, cols].T / math.sqrt(dh), -1)
        heads.append(w @ vv[:, cols])
    return attn.out(torch.cat(heads, -1))


def reference_layer(layer: TransformerLayer, x):
    """One post-norm encoder layer on one unpadded dialogue ``(n, d)``."""
    n1, n2 = layer.norm1, layer.norm2
    h = F.layer_norm(x + reference_mha(layer.attn, x, x, x), (x.shape[1],), n1.weight, n1.bias)
    lin1, lin2 = layer.ff[0], layer.ff[2]
    ff = torch.relu(h @ lin1.weight.T + lin1.bias) @ lin2.weight.T + lin2.bias
    return F.layer_norm(h + ff, (x.shape[1],), n2.weight, n2.bias)


def reference_m2fnet(enc: M2FNetEncoder, feats):
    """M2FNet on one unpadded dialogue ``{m: (n, D_m)}``."""
    h = {}
    for m in enc.modalities:
        p = feats[m] @ enc.proj[m].weight.T + enc.proj[m].bias
        x = p
        for layer in enc.encoders[m]:
            x = reference_layer(layer, x)
        h[m] = p + x
    f = h[enc.query]
    for fl in enc.fusion:
        att = [reference_mha(a, f, h[m], h[m]) for a, m in zip(fl.attns, enc.others)]
        f = fl.norm(f + fl.proj(torch.cat(att, -1)))
    return {m: f if m == enc.query else h[m] for m in enc.modalities}


def encoder(dims=None, **options) -> M2FNetEncoder:
    torch.manual_seed(0)
    return M2FNetEncoder(dims or DIMS, **{**SIZES, **options}).eval()


def dialogues(dims=None, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [{m: torch.randn(n, d, generator=g) for m, d in (dims or DIMS).items()} for n in LENGTHS]


def padded(dials, length, fill=0.0):
    dims = {m: x.shape[1] for m, x in dials[0].items()}
    feats = {m: torch.full((len(dials), length, d), fill) for m, d in dims.items()}
    mask = torch.zeros(len(dials), length, dtype=torch.bool)
    for b, dial in enumerate(dials):
        n = next(iter(dial.values())).shape[0]
        for m in dims:
            feats[m][b, :n] = dial[m]
        mask[b, :n] = True
    return feats, mask, torch.zeros(len(dials), length, dtype=torch.long)


def test_transformer_layer_equals_a_plain_reference():
    torch.manual_seed(0)
    layer = TransformerLayer(8, 2, 12, dropout=0.3).eval()
    dials = [torch.randn(n, 8) for n in LENGTHS]
    x = torch.full((len(dials), 9, 8), 50.0)
    mask = torch.zeros(len(dials), 9, dtype=torch.bool)
    for b, d in enumerate(dials):
        x[b, : len(d)] = d
        mask[b, : len(d)] = True
    with torch.no_grad():
        out = layer(x, mask)
        assert torch.all(out[~mask] == 0)
        for b, d in enumerate(dials):
            torch.testing.assert_close(
                out[b, : len(d)], reference_layer(layer, d), atol=1e-5, rtol=1e-5
            )


@pytest.mark.parametrize("dims", [DIMS, {"text": 7}, {"audio": 5, "text": 7}])
def test_encoder_equals_a_plain_per_dialogue_reference(dims):
    enc = encoder(dims)
    dials = dialogues(dims)
    with torch.no_grad():
        out = enc(*padded(dials, 9, fill=30.0))
        for b, dial in enumerate(dials):
            want = reference_m2fnet(enc, dial)
            n = LENGTHS[b]
            for m in dims:
                torch.testing.assert_close(out[m][b, :n], want[m], atol=1e-5, rtol=1e-5)
                assert torch.all(out[m][b, n:] == 0)


def test_batch_equals_each_dialogue_alone_and_padding_does_not_matter():
    enc = encoder()
    dials = dialogues()
    with torch.no_grad():
        a = enc(*padded(dials, 7))
        b = enc(*padded(dials, 12, fill=1e3))
        for m in DIMS:
            torch.testing.assert_close(b[m][:, :7], a[m], atol=1e-5, rtol=1e-5)
        for i, dial in enumerate(dials):
            alone = enc(*padded([dial], LENGTHS[i]))
            for m in DIMS:
                torch.testing.assert_close(a[m][i, : LENGTHS[i]], alone[m][0], atol=1e-5, rtol=1e-5)


def test_text_is_the_query_and_attends_to_the_others():
    enc = encoder()
    assert enc.query == "text" and enc.others == ("audio", "visual")
    feats, mask, spk = padded(dialogues(), 7)
    with torch.no_grad():
        out = enc(feats, mask, spk)
        changed = enc(dict(feats, audio=feats["audio"] + 1.0), mask, spk)
    assert not torch.allclose(changed["text"][mask], out["text"][mask], atol=1e-4)
    torch.testing.assert_close(changed["visual"], out["visual"])  # no path audio -> visual
    no_fusion = encoder(fusion_layers=0)
    with torch.no_grad():
        plain = no_fusion(feats, mask, spk)
        plain_changed = no_fusion(dict(feats, audio=feats["audio"] + 1.0), mask, spk)
    torch.testing.assert_close(plain["text"], plain_changed["text"])


def test_one_modality_skips_the_fusion_layers():
    enc = encoder({"text": 7})
    assert len(enc.fusion) == 0 and enc.others == ()
    no_text = encoder({"audio": 5, "visual": 6})
    assert no_text.query == "audio" and no_text.others == ("visual",)
    assert len(no_text.fusion) == SIZES["fusion_layers"]


@pytest.mark.parametrize(
    "option, value, match",
    [
        ("layers", 0, "layers must be a positive int"),
        ("fusion_layers", -1, "fusion_layers must be a non-negative int"),
        ("heads", 3, r"heads \(3\) must divide the width \(8\)"),
    ],
)
def test_bad_options(option, value, match):
    with pytest.raises(ValueError, match=match):
        encoder(**{option: value})


def test_gradient_reaches_every_parameter():
    enc = encoder().train()
    out = enc(*padded(dialogues(), 9))
    sum(o.sum() for o in out.values()).backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_default_is_its_own_fusion_only_and_reads_every_stream():
    model = create_model("m2fnet", in_dims=DIMS, num_classes=4, **SIZES)
    assert model.fusion is None
    assert model.classifier.in_features == 3 * SIZES["dim"]
    star = create_model(
        "m2fnet", in_dims=DIMS, num_classes=4, fusion="lmam", embed="early_residual", **SIZES
    )
    assert set(star.residual_projs) == set(DIMS)
