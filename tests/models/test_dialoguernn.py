"""DialogueRNN equals a plain per-dialogue, utterance-by-utterance reference."""

from __future__ import annotations

import pytest
import torch

from lmam.models.dialoguernn import DialogueRNNDirection, DialogueRNNEncoder
from lmam.nn.graph import local_parties
from tests.models.stepping import assert_steps_equal_forward

D_M = 8  # equal to D_G, so that the "dot" attention is possible
SIZES = {"d_g": 8, "d_p": 6, "d_e": 5, "d_h": 7, "att_dim": 4}
VARIANTS = {
    "DialogueRNN": {"bidirectional": False, "emotion_attention": False},
    "BiDialogueRNN": {"bidirectional": True, "emotion_attention": False},
    "BiDialogueRNN+Att": {"bidirectional": True, "emotion_attention": True},
}


def reference_direction(cell: DialogueRNNDirection, x, speakers):
    """One dialogue, unpadded, utterance by utterance. x: (T, D_m); speakers: list."""
    zeros = x.new_zeros
    states: dict[int, torch.Tensor] = {}
    g_hist: list[torch.Tensor] = []
    e = zeros(1, cell.d_e)
    out = []
    for t, s in enumerate(speakers):
        u = x[t : t + 1]
        q_s = states.get(s, zeros(1, cell.d_p))
        g = cell.g_cell(torch.cat([u, q_s], 1), g_hist[-1] if g_hist else zeros(1, cell.d_g))
        if g_hist:
            c, _ = cell.attention(torch.stack(g_hist, 1), u)
        else:
            c = zeros(1, cell.d_g)
        q_new = cell.p_cell(torch.cat([u, c], 1), q_s)
        if cell.l_cell is not None:
            for p in set(speakers) - {s}:
                heard = torch.cat([u, q_new], 1)
                states[p] = cell.l_cell(heard, states.get(p, zeros(1, cell.d_p)))
        states[s] = q_new
        e = cell.e_cell(q_new, e)
        g_hist.append(g)
        out.append(e[0])
    return torch.stack(out)


def reference(enc: DialogueRNNEncoder, x, speakers):
    """The encoder's output for one dialogue. x: (T, D_m) -> (T, d_h)."""
    emotions = reference_direction(enc.forward_rnn, x, speakers)
    if enc.backward_rnn is not None:
        back = reference_direction(enc.backward_rnn, x.flip(0), speakers[::-1])
        emotions = torch.cat([emotions, back.flip(0)], -1)
    if enc.emotion_attention is not None:
        emotions, _ = enc.emotion_attention(emotions[None], emotions[None])
        emotions = emotions[0]
    return torch.relu(enc.dense(emotions))


def encoder(variant: str, att_type: str, listener: bool) -> DialogueRNNEncoder:
    torch.manual_seed(0)
    enc = DialogueRNNEncoder(
        D_M, **SIZES, **VARIANTS[variant], listener=listener, att_type=att_type
    )
    return enc.eval()


def dialogues():
    g = torch.Generator().manual_seed(1)
    speakers = [[5, 2, 5, 5, 9, 2, 2], [0, 1, 0, 1], [3]]
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


@pytest.mark.parametrize("listener", [False, True])
@pytest.mark.parametrize("att_type", ["simple", "dot", "general", "general2", "concat"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_batched_equals_per_dialogue_reference(variant, att_type, listener):
    enc = encoder(variant, att_type, listener)
    dials = dialogues()
    x, mask, spk = padded(dials, 9)
    with torch.no_grad():
        out = enc(x, mask, spk)
        assert out.shape == (3, 9, SIZES["d_h"])
        assert torch.all(out[~mask] == 0)
        for b, (feats, s) in enumerate(dials):
            want = reference(enc, feats, s)
            torch.testing.assert_close(out[b, : len(s)], want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("listener", [False, True])
def test_padding_and_batch_order_do_not_matter(listener):
    enc = encoder("BiDialogueRNN+Att", "general", listener)
    dials = dialogues()
    with torch.no_grad():
        a = enc(*padded(dials, 7))
        b = enc(*padded(dials, 12, fill=1e3))
        c = enc(*padded(dials[::-1], 7))
    torch.testing.assert_close(b[:, :7], a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c.flip(0), a, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("listener", [False, True])
def test_renaming_speakers_changes_nothing(listener):
    enc = encoder("BiDialogueRNN+Att", "concat", listener)
    dials = dialogues()
    renamed = [(dials[0][0], [{5: 40, 2: 3, 9: 0}[s] for s in dials[0][1]]), *dials[1:]]
    with torch.no_grad():
        a = enc(*padded(dials, 7))
        b = enc(*padded(renamed, 7))
    torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-6)
    # but who speaks does matter: merging two parties changes the first dialogue
    merged = [(dials[0][0], [5 if s == 9 else s for s in dials[0][1]]), *dials[1:]]
    with torch.no_grad():
        c = enc(*padded(merged, 7))
    assert not torch.allclose(c[0], a[0], atol=1e-4)
    torch.testing.assert_close(c[1:], a[1:], atol=1e-6, rtol=1e-6)


def test_one_utterance_dialogue():
    enc = encoder("BiDialogueRNN+Att", "general", True)
    feats, s = dialogues()[2]
    x, mask, spk = padded([(feats, s)], 1)
    out = enc(x, mask, spk)
    torch.testing.assert_close(out[0], reference(enc, feats, s), atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in enc.parameters() if p.grad is not None)


def test_local_parties():
    spk = torch.tensor([[7, 3, 7, 0], [1, 1, 1, 1], [4, 9, 2, 5]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.bool)
    party, count = local_parties(spk, mask)
    assert count.tolist() == [3, 1, 3]
    assert party[mask].tolist() == [2, 1, 2, 0, 0, 0, 1, 2, 0]


def test_gradient_reaches_every_parameter():
    enc = encoder("BiDialogueRNN+Att", "concat", True).train()
    x, mask, spk = padded(dialogues(), 9)
    enc(x.requires_grad_(), mask, spk).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert torch.all(x.grad[~mask] == 0)


@pytest.mark.parametrize(
    ("fusion", "embed"),
    [("none", "early"), ("concat", "early"), ("lmam", "early"), ("lmam", "early_residual"),
     ("lmam", "parallel"), ("self_attention", "early_residual")],
)  # fmt: skip
def test_a_causal_dialoguernn_steps_with_carried_state_as_it_runs_whole(fusion, embed):
    """One utterance at a time, carrying the global, party and emotion states, gives the
    rows of the forward pass over the whole dialogue (three speakers, two modalities)."""
    from lmam.models import create_model

    torch.manual_seed(0)
    options = {"context": "causal"} if fusion in ("lmam", "self_attention") else {}
    model = create_model(
        "dialoguernn", in_dims={"text": 10, "audio": 6}, num_classes=3, fusion=fusion,
        embed=embed, fusion_options=options, bidirectional=False, emotion_attention=False,
        d_g=12, d_p=10, d_e=8, d_h=9,
    ).eval()  # fmt: skip
    assert model.can_step
    t = 9
    feats = {"text": torch.randn(1, t, 10), "audio": torch.randn(1, t, 6)}
    state = assert_steps_equal_forward(model, feats, torch.tensor([[4, 1, 4, 7, 1, 1, 4, 7, 7]]))
    assert state.globals is not None and state.globals.shape == (1, t, 12)
    assert set(state.parties) == {1, 4, 7}
    if options:  # the attention fusion carried its keys and values too
        assert state.fusion.values is not None and state.fusion.values.shape[2] == t


@pytest.mark.parametrize(
    "options",
    [{"bidirectional": True, "emotion_attention": False},
     {"bidirectional": False, "emotion_attention": True},
     {"bidirectional": False, "emotion_attention": False, "listener": True}],
)  # fmt: skip
def test_a_dialoguernn_that_reads_later_utterances_cannot_step(options):
    from lmam.models import create_model
    from lmam.models.dialoguernn import StepState

    model = create_model("dialoguernn", in_dims={"text": 10}, num_classes=3, **options)
    assert not model.can_step
    with pytest.raises(ValueError, match="causal"):
        model.step({"text": torch.randn(1, 2, 10)}, 0, StepState())


def _causal_dialoguernn(fusion: str):
    """A causal DialogueRNN with ``fusion`` at ``early_residual`` (``context="causal"``
    where the fusion takes a context), or ``None`` when that model reads later utterances."""
    from lmam.models import create_model

    for options in ({"context": "causal"}, {}):
        try:
            model = create_model(
                "dialoguernn", in_dims={"text": 10, "audio": 6}, num_classes=3, fusion=fusion,
                embed="early_residual", fusion_options=options, bidirectional=False,
                emotion_attention=False, d_g=12, d_p=10, d_e=8, d_h=9,
            ).eval()  # fmt: skip
        except ValueError:
            continue
        feats = {"text": torch.randn(1, 6, 10), "audio": torch.randn(1, 6, 6)}
        later = {m: torch.cat([x[:, :3], torch.randn_like(x[:, 3:])], 1) for m, x in feats.items()}
        ones, spk = torch.ones(1, 6, dtype=torch.bool), torch.tensor([[0, 1, 0, 1, 0, 1]])
        with torch.no_grad():
            if torch.allclose(model(feats, ones, spk)[:, :3], model(later, ones, spk)[:, :3]):
                return model
    return None


def test_every_causal_fusion_in_front_of_a_causal_dialoguernn_steps_as_it_runs_whole():
    """Every registered fusion that can be causal (per utterance, or ``context="causal"``):
    an online step, carried or over the dialogue so far, equals the offline forward."""
    from lmam.fusion import list_fusions

    torch.manual_seed(0)
    causal = []
    for name in list_fusions():
        model = _causal_dialoguernn(name)
        if model is None:
            continue
        causal.append(name)
        assert model.can_step, name
        feats = {"text": torch.randn(1, 8, 10), "audio": torch.randn(1, 8, 6)}
        assert_steps_equal_forward(model, feats, torch.tensor([[2, 0, 2, 1, 0, 0, 1, 2]]))
    # the four left out read later utterances: cmcf_srnet's graph, dual_lmf's window,
    # mmmu_ba's and lmam_authors_code's attention over the whole dialogue
    assert len(causal) == len(list_fusions()) - 4, causal
