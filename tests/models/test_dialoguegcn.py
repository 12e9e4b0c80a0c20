"""DialogueGCN: its batched graph equals a plain double loop over utterance pairs,
its relational layer a loop over edges, and the batch the dialogues run alone."""

from __future__ import annotations

import pytest
import torch

from lmam.models.dialoguegcn import DialogueGCNEncoder, RelationalGraphConv
from lmam.nn.graph import checked_parties

D_M = 7
SIZES = {"d_e": 4, "graph_hidden": 6, "d_h": 5, "num_bases": 3}


def encoder(**options) -> DialogueGCNEncoder:
    torch.manual_seed(0)
    kwargs = {**SIZES, "num_speakers": 3, "window_past": 2, "window_future": 1, **options}
    return DialogueGCNEncoder(D_M, **kwargs).eval()


def dialogues():
    g = torch.Generator().manual_seed(1)
    speakers = [[5, 2, 5, 5, 9, 2, 2], [0, 1, 0, 1], [3], [4, 4, 8]]
    return [(torch.randn(len(s), D_M, generator=g), s) for s in speakers]


def padded(dials, length, fill=0.0):
    x = torch.full((len(dials), length, D_M), fill)
    mask = torch.zeros(len(dials), length, dtype=torch.bool)
    spk = torch.full((len(dials), length), 7)
    for b, (feats, s) in enumerate(dials):
        x[b, : len(s)] = feats
        mask[b, : len(s)] = True
        spk[b, : len(s)] = torch.tensor(s)
    return x, mask, spk


def reference_graph(enc: DialogueGCNEncoder, g, speakers, offset):
    """One dialogue, pair by pair: {(source, target): (relation, weight)}. g: (T, 2 d_e)."""
    parties = {s: k for k, s in enumerate(sorted(set(speakers)))}
    n, big_s = len(speakers), enc.num_speakers
    edges = {}
    for i in range(n):
        window = [j for j in range(n) if -enc.window_past <= j - i <= enc.window_future]
        scores = torch.stack([g[i] @ enc.edge_attention.weight @ g[j] for j in window])
        weights = torch.softmax(scores, 0)
        for j, w in zip(window, weights):
            si, sj = parties[speakers[i]], parties[speakers[j]]
            relation = 2 * (big_s * sj + si) + (1 if j >= i else 0)
            edges[(offset + j, offset + i)] = (relation, float(w))
    return edges


@pytest.mark.parametrize("past, future", [(2, 1), (0, 3), (10, 10), (0, 0)])
def test_graph_equals_a_double_loop_over_pairs(past, future):
    enc = encoder(window_past=past, window_future=future)
    dials = dialogues()
    x, mask, spk = padded(dials, 9)
    with torch.no_grad():
        g = enc.rnn(x, mask)
        party = checked_parties(spk, mask, enc.num_speakers)
        edge_index, edge_type, edge_weight = enc.graph(g, mask, party)
        want, offset = {}, 0
        for b, (_, s) in enumerate(dials):
            want.update(reference_graph(enc, g[b, : len(s)], s, offset))
            offset += len(s)
    got = {
        (int(a), int(c)): (int(r), float(w))
        for (a, c), r, w in zip(edge_index.T, edge_type, edge_weight)
    }
    assert edge_index.shape[1] == len(got) == len(want)
    assert got.keys() == want.keys()
    for key, (relation, weight) in want.items():
        assert got[key][0] == relation, key
        assert got[key][1] == pytest.approx(weight, abs=1e-6), key


def test_relational_layer_equals_a_loop_over_edges():
    torch.manual_seed(0)
    conv = RelationalGraphConv(4, 3, num_relations=5, num_bases=2)
    x = torch.randn(6, 4)
    edge_index = torch.tensor([[0, 1, 2, 5, 5, 3], [1, 1, 0, 4, 2, 3]])
    edge_type = torch.tensor([0, 4, 2, 1, 1, 3])
    edge_weight = torch.rand(6)
    with torch.no_grad():
        out = conv(x, edge_index, edge_type, edge_weight)
        want = conv.root(x)
        for (j, i), r, w in zip(edge_index.T, edge_type, edge_weight):
            weight = sum(conv.comp[r, b] * conv.bases[b] for b in range(2))
            want[i] += w * x[j] @ weight
    torch.testing.assert_close(out, want)


@pytest.mark.parametrize("attention", [False, True])
def test_batched_equals_each_dialogue_alone(attention):
    enc = encoder(attention=attention)
    dials = dialogues()
    with torch.no_grad():
        out = enc(*padded(dials, 9))
        assert out.shape == (4, 9, SIZES["d_h"])
        assert torch.all(out[~padded(dials, 9)[1]] == 0)
        for b, dial in enumerate(dials):
            alone = enc(*padded([dial], len(dial[1])))
            torch.testing.assert_close(out[b, : len(dial[1])], alone[0], atol=1e-5, rtol=1e-5)


def test_padding_and_batch_order_do_not_matter():
    enc = encoder(attention=True)
    dials = dialogues()
    with torch.no_grad():
        a = enc(*padded(dials, 7))
        b = enc(*padded(dials, 12, fill=1e3))
        c = enc(*padded(dials[::-1], 7))
    torch.testing.assert_close(b[:, :7], a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c.flip(0), a, atol=1e-5, rtol=1e-5)


def test_who_speaks_matters_but_not_the_ids():
    """Parties are numbered in increasing id order: an order-keeping renaming changes nothing."""
    enc = encoder()
    dials = dialogues()
    renamed = [(dials[0][0], [{2: 10, 5: 20, 9: 99}[s] for s in dials[0][1]]), *dials[1:]]
    merged = [(dials[0][0], [5 if s == 9 else s for s in dials[0][1]]), *dials[1:]]
    with torch.no_grad():
        a = enc(*padded(dials, 7))
        b = enc(*padded(renamed, 7))
        c = enc(*padded(merged, 7))
    torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(c[0], a[0], atol=1e-4)
    torch.testing.assert_close(c[1:], a[1:], atol=1e-6, rtol=1e-6)


def test_too_many_speakers_is_a_clear_error():
    enc = encoder(num_speakers=2)
    dials = dialogues()  # dialogue 0 has three speakers
    with pytest.raises(ValueError, match=r"dialogue 0 .* 3 distinct speakers.*num_speakers=2"):
        enc(*padded(dials, 7))
    enc(*padded(dials[1:], 7))


@pytest.mark.parametrize(
    "option, value, match",
    [
        ("num_speakers", 0, "num_speakers must be a positive int"),
        ("window_past", -1, "window_past must be a non-negative int"),
        ("window_future", 1.5, "window_future must be a non-negative int"),
        ("num_bases", 0, "num_bases must be a positive int"),
    ],
)
def test_bad_options(option, value, match):
    with pytest.raises(ValueError, match=match):
        encoder(**{option: value})


def test_gradient_reaches_every_parameter():
    enc = encoder(attention=True).train()
    x, mask, spk = padded(dialogues(), 9)
    enc(x.requires_grad_(), mask, spk).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert torch.all(x.grad[~mask] == 0)


def test_without_torch_geometric_the_error_names_the_extra(monkeypatch):
    import lmam.nn.graph as graph

    monkeypatch.setattr(graph.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"dialoguegcn backbone needs torch_geometric.*\[graph\]"):
        encoder()


def test_defaults_are_the_references_no_sequence_dropout_and_its_initialisation():
    torch.manual_seed(0)
    enc = DialogueGCNEncoder(6).train()
    seen = {}

    def keep_input(mod, args, out):
        seen["g"] = args[0]

    enc.conv1.register_forward_hook(keep_input)
    x = torch.randn(2, 4, 6)
    mask = torch.ones(2, 4)
    speakers = torch.tensor([[0, 1, 0, 1], [1, 0, 0, 1]])
    enc(x, mask, speakers)
    g = enc.rnn(x, mask.bool())[mask.bool()]
    torch.testing.assert_close(seen["g"], g)  # no dropout before the graph, in training too
    # the reference's RGCNConv: uniform in +-1/sqrt(num_bases * in)
    bound = 1 / (30 * 200) ** 0.5
    for w in (enc.conv1.bases, enc.conv1.comp, enc.conv1.root.weight, enc.conv1.root.bias):
        assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound
    # the earlier behaviour, by option
    old = DialogueGCNEncoder(6, sequence_dropout=0.5, relational_init="xavier").train()
    seen.clear()
    old.conv1.register_forward_hook(keep_input)
    old(x, mask, speakers)
    assert (seen["g"] == 0).float().mean() > 0.3
    assert old.conv1.comp.abs().max() > bound
    with pytest.raises(ValueError, match="relational_init"):
        DialogueGCNEncoder(6, relational_init="normal")
