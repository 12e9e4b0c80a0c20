"""MM-DFN: its multimodal graph equals a plain construction with loops, the batch
equals each dialogue alone, and one or two modalities give a smaller graph."""

from __future__ import annotations

import math

import pytest
import torch

from lmam.models import create_model
from lmam.models.mmdfn import MMDFNEncoder, multimodal_graph

DIMS = {"text": 7, "audio": 5, "visual": 6}
SIZES = {"hidden": 6, "graph_hidden": 5, "layers": 3, "num_speakers": 3, "rnn_layers": 2}
SPEAKERS = [[5, 2, 5, 5, 9, 2, 2], [0, 1, 0, 1], [3], [4, 4, 8]]


def encoder(dims=None, **options) -> MMDFNEncoder:
    torch.manual_seed(0)
    return MMDFNEncoder(dims or DIMS, **{**SIZES, **options}).eval()


def dialogues(dims=None, seed=1):
    g = torch.Generator().manual_seed(seed)
    dims = dims or DIMS
    return [
        ({m: torch.randn(len(s), d, generator=g) for m, d in dims.items()}, s) for s in SPEAKERS
    ]


def padded(dials, length, fill=0.0):
    dims = {m: x.shape[1] for m, x in dials[0][0].items()}
    feats = {m: torch.full((len(dials), length, d), fill) for m, d in dims.items()}
    mask = torch.zeros(len(dials), length, dtype=torch.bool)
    spk = torch.full((len(dials), length), 7)
    for b, (x, s) in enumerate(dials):
        for m in dims:
            feats[m][b, : len(s)] = x[m]
        mask[b, : len(s)] = True
        spk[b, : len(s)] = torch.tensor(s)
    return feats, mask, spk


def similarity(a, b):
    cos = float(a @ b) / (float(a.norm()) * float(b.norm()))
    return 1 - math.acos(0.99999 * cos) / math.pi


def reference_adjacency(nodes, lengths, num_modalities, window, modal_weight):
    """Dense ``D^-1/2 A D^-1/2`` built node pair by node pair. nodes: (M N, D)."""
    n = sum(lengths)
    size = num_modalities * n
    adj = torch.zeros(size, size, dtype=torch.float64)
    start = 0
    for length in lengths:
        for a in range(num_modalities):
            for b in range(num_modalities):
                for i in range(length):
                    for j in range(length):
                        u, v = a * n + start + i, b * n + start + j
                        if a == b and (window is None or abs(i - j) <= window):
                            adj[u, v] = similarity(nodes[u], nodes[v])
                        elif a != b and i == j:
                            adj[u, v] = modal_weight * similarity(nodes[u], nodes[v])
        start += length
    scale = adj.sum(1).rsqrt()
    return scale[:, None] * adj * scale[None, :]


@pytest.mark.parametrize("num_modalities", [1, 2, 3])
@pytest.mark.parametrize("window, modal_weight", [(None, 1.0), (1, 0.7), (0, 1.0)])
def test_graph_equals_a_plain_construction(num_modalities, window, modal_weight):
    lengths = [len(s) for s in SPEAKERS]
    mask = torch.zeros(len(lengths), 9, dtype=torch.bool)
    for b, n in enumerate(lengths):
        mask[b, :n] = True
    nodes = torch.randn(
        num_modalities * sum(lengths), 4, generator=torch.Generator().manual_seed(0)
    )
    edge_index, edge_weight = multimodal_graph(nodes, mask, num_modalities, window, modal_weight)
    size = nodes.shape[0]
    dense = torch.zeros(size, size, dtype=torch.float64)
    dense.index_put_(tuple(edge_index), edge_weight.double(), accumulate=True)
    want = reference_adjacency(nodes.double(), lengths, num_modalities, window, modal_weight)
    assert edge_index.shape[1] == int((want != 0).sum())  # every edge once
    torch.testing.assert_close(dense, want, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("window", [None, 2])
def test_batched_equals_each_dialogue_alone(window):
    enc = encoder(window=window)
    dials = dialogues()
    feats, mask, spk = padded(dials, 9)
    with torch.no_grad():
        out = enc(feats, mask, spk)
        assert set(out) == set(DIMS)
        for o in out.values():
            assert o.shape == (4, 9, SIZES["hidden"] + SIZES["graph_hidden"])
            assert torch.all(o[~mask] == 0)
        for b, dial in enumerate(dials):
            alone = enc(*padded([dial], len(dial[1])))
            for m in DIMS:
                torch.testing.assert_close(
                    out[m][b, : len(dial[1])], alone[m][0], atol=1e-5, rtol=1e-5
                )


def test_padding_and_batch_order_do_not_matter():
    enc = encoder()
    dials = dialogues()
    with torch.no_grad():
        a = enc(*padded(dials, 7))
        b = enc(*padded(dials, 12, fill=1e3))
        c = enc(*padded(dials[::-1], 7))
    for m in DIMS:
        torch.testing.assert_close(b[m][:, :7], a[m], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(c[m].flip(0), a[m], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("names", [("text",), ("audio",), ("text", "audio")])
def test_one_and_two_modalities_give_a_smaller_graph(names):
    dims = {m: DIMS[m] for m in names}
    enc = encoder(dims)
    assert set(enc.rnns) == ({"text"} & set(names))
    dials = dialogues(dims)
    feats, mask, spk = padded(dials, 9)
    seen = {}
    enc.convs[0].register_forward_hook(lambda mod, args, out: seen.update(nodes=args[0]))
    with torch.no_grad():
        out = enc(feats, mask, spk)
    assert seen["nodes"].shape[0] == len(names) * int(mask.sum())
    assert set(out) == set(names)
    for o in out.values():
        assert o[mask].abs().sum(-1).gt(0).all()  # not zeros
    if len(names) == 2:  # the inter-modal edges carry the audio into the text stream
        other = dict(feats, audio=feats["audio"] + 1.0)
        with torch.no_grad():
            changed = enc(other, mask, spk)
        assert not torch.allclose(changed["text"][mask], out["text"][mask], atol=1e-4)


def test_too_many_speakers_is_a_clear_error():
    enc = encoder(num_speakers=2)
    with pytest.raises(ValueError, match=r"dialogue 0 .* 3 distinct speakers.*num_speakers=2"):
        enc(*padded(dialogues(), 7))


@pytest.mark.parametrize(
    "option, value, match",
    [
        ("layers", 0, "layers must be a positive int"),
        ("window", -1, "window must be None or a non-negative int"),
        ("recurrent", "text", "recurrent must be a tuple of modality names"),
        ("hidden", 7, "hidden must be even"),
    ],
)
def test_bad_options(option, value, match):
    with pytest.raises(ValueError, match=match):
        encoder(**{option: value})


def test_gradient_reaches_every_parameter():
    enc = encoder().train()
    feats, mask, spk = padded(dialogues(), 9)
    out = enc(feats, mask, spk)
    sum(o.sum() for o in out.values()).backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_default_is_its_own_fusion_only():
    model = create_model("mmdfn", in_dims=DIMS, num_classes=4, **SIZES)
    assert model.fusion is None
    assert model.encoders["all"].proj["visual"].in_features == DIMS["visual"]
    assert model.classifier.in_features == 3 * (SIZES["hidden"] + SIZES["graph_hidden"])
