"""TextCNN: both readings, and the fast max over convolution positions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmam.models.textcnn import TextCNNEncoder, max_over_positions
from tests.models.stepping import assert_steps_equal_forward


@pytest.mark.parametrize("k", [1, 3, 5])
def test_max_over_positions_equals_conv_then_max(k):
    torch.manual_seed(0)
    conv = nn.Conv1d(1, 6, k)
    x = torch.randn(7, 20, requires_grad=True)
    got = max_over_positions(x, conv, chunk=50)  # several chunks
    want = conv(x.unsqueeze(1)).amax(-1)
    torch.testing.assert_close(got, want)
    (g_got,) = torch.autograd.grad(got.square().sum(), [x])
    (g_want,) = torch.autograd.grad(want.square().sum(), [x])
    torch.testing.assert_close(g_got, g_want)


def test_features_reading_is_context_free():
    torch.manual_seed(0)
    enc = TextCNNEncoder(12, filters=5, widths=(2, 3), dense=4, norm=False, over="features").eval()
    x = torch.randn(2, 6, 12)
    mask = torch.ones(2, 6, dtype=torch.bool)
    speakers = torch.zeros(2, 6, dtype=torch.long)
    out = enc(x, mask, speakers)
    y = x.clone()
    y[:, 3] = torch.randn(2, 12)  # another utterance 3 changes only utterance 3
    changed = (enc(y, mask, speakers) - out).abs().amax(-1) > 1e-6
    assert changed[:, 3].all() and not changed[:, [0, 1, 2, 4, 5]].any()
    # equals the plain convolution, ReLU and max-pool of each utterance's vector
    pooled = torch.cat([F.relu(c(x.reshape(12, 1, 12))).amax(-1) for c in enc.convs], -1)
    want = torch.relu(enc.dense(pooled)).view(2, 6, 4)
    torch.testing.assert_close(out, want)


def test_projected_reading_is_kims_cnn_over_a_learned_sequence():
    torch.manual_seed(0)
    enc = TextCNNEncoder(10, filters=5, widths=(3, 4), dense=4, norm=False, length=6, channels=3)
    enc.eval()
    x = torch.randn(2, 5, 10)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    speakers = torch.zeros(2, 5, dtype=torch.long)
    out = enc(x, mask, speakers)
    # a plain loop: each real utterance alone, its vector projected to (channels, length)
    for b in range(2):
        for t in range(5):
            if not mask[b, t]:
                assert out[b, t].abs().sum() == 0
                continue
            seq = (enc.project.weight @ x[b, t] + enc.project.bias).view(3, 6)
            feats = []
            for conv in enc.convs:
                k = conv.kernel_size[0]
                windows = [
                    (conv.weight * seq[:, i : i + k]).sum((1, 2)) + conv.bias
                    for i in range(6 - k + 1)
                ]
                feats.append(torch.relu(torch.stack(windows)).amax(0))
            want = torch.relu(enc.dense(torch.cat(feats)))
            torch.testing.assert_close(out[b, t], want, atol=1e-5, rtol=1e-5)
    y = x.clone()
    y[:, 1] = torch.randn(2, 10)  # context-free: only utterance 1 changes
    changed = (enc(y, mask, speakers) - out).abs().amax(-1) > 1e-6
    assert changed[:, 1].all() and not changed[:, [0, 2, 3, 4]].any()


def test_utterances_reading_sees_neighbours_within_the_window():
    torch.manual_seed(0)
    enc = TextCNNEncoder(4, filters=3, widths=(3,), dense=4, over="utterances").eval()
    x = torch.randn(1, 9, 4)
    mask = torch.ones(1, 9, dtype=torch.bool)
    speakers = torch.zeros(1, 9, dtype=torch.long)
    out = enc(x, mask, speakers)
    y = x.clone()
    y[0, 4] += 3.0
    changed = (enc(y, mask, speakers) - out).abs().amax(-1)[0] > 1e-6
    # a width-3 convolution then a width-3 max-pool: reach of 2 either side
    assert not changed[[0, 1, 7, 8]].any() and changed[4]


def test_bad_options():
    with pytest.raises(ValueError, match="over"):
        TextCNNEncoder(8, over="sentences")
    with pytest.raises(ValueError, match="exceeds the feature width"):
        TextCNNEncoder(4, widths=(5,), over="features")
    with pytest.raises(ValueError, match="exceeds the length"):
        TextCNNEncoder(4, widths=(5,), length=4)
    with pytest.raises(ValueError, match="widths"):
        TextCNNEncoder(8, widths=())


def test_norm_standardises_real_utterances_only():
    torch.manual_seed(0)
    enc = TextCNNEncoder(6, filters=3, widths=(2,), dense=4, dropout=0.0)
    x = torch.randn(2, 5, 6) * torch.tensor([1.0, 1.0, 100.0, 1.0, 1.0, 1.0])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=torch.bool)
    speakers = torch.zeros(2, 5, dtype=torch.long)
    seen = {}
    enc.norm.register_forward_hook(lambda mod, args, out: seen.update(out=out))
    out = enc(x, mask, speakers)
    torch.testing.assert_close(seen["out"].mean(0), torch.zeros(6), atol=1e-5, rtol=0)
    garbage = x.clone()
    garbage[~mask] = 1e4
    torch.testing.assert_close(enc(garbage, mask, speakers), out)
    one = enc(x[:1, :1], mask[:1, :1], speakers[:1, :1])  # one utterance: running statistics
    assert torch.isfinite(one).all()


@pytest.mark.parametrize("over", ["projected", "features"])
@pytest.mark.parametrize("fusion", ["none", "lmam", "self_attention"])
def test_a_context_free_textcnn_steps_as_it_runs_whole(over, fusion):
    """One utterance at a time (a causal attention fusion carrying its keys and values)
    gives the rows of the forward pass over the whole dialogue."""
    from lmam.models import create_model

    torch.manual_seed(0)
    options = {"context": "causal"} if fusion != "none" else {}
    model = create_model(
        "textcnn", in_dims={"text": 10, "audio": 6}, num_classes=3, fusion=fusion,
        embed="early_residual" if options else "early", fusion_options=options, over=over,
        filters=8, dense=7,
    ).eval()  # fmt: skip
    assert model.can_step
    feats = {"text": torch.randn(1, 7, 10), "audio": torch.randn(1, 7, 6)}
    assert_steps_equal_forward(model, feats, torch.tensor([[0, 1, 0, 1, 1, 0, 1]]))


def test_the_contextual_textcnn_cannot_step():
    from lmam.models import create_model

    model = create_model("textcnn", in_dims={"text": 10}, num_classes=3, over="utterances")
    assert not model.can_step


def test_words_reading_is_kims_cnn_over_the_word_vectors():
    torch.manual_seed(0)
    enc = TextCNNEncoder(8, filters=5, widths=(2, 3), dense=4, over="words", vocab=20, word_dim=6)
    table = torch.randn(20, 6)
    table[0] = 0.0
    enc.load_word_vectors(table)
    enc.eval()
    ids = torch.randint(1, 20, (2, 5, 8)).float()
    ids[:, :, 6:] = 0  # padded words
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    out = enc(ids, mask, torch.zeros(2, 5, dtype=torch.long))
    # a plain loop: each real utterance's words looked up, convolved, ReLU, max over time
    for b in range(2):
        for t in range(5):
            if not mask[b, t]:
                assert out[b, t].abs().sum() == 0
                continue
            words = table[ids[b, t].long()]  # (8, 6)
            pooled = []
            for k, conv in zip((2, 3), enc.convs):
                scores = [  # filter f over the words i..i+k-1
                    [(conv.weight[f] * words[i : i + k].T).sum() + conv.bias[f] for f in range(5)]
                    for i in range(8 - k + 1)
                ]
                pooled.append(torch.relu(torch.tensor(scores).amax(0)))
            want = torch.relu(enc.dense(torch.cat(pooled)))
            torch.testing.assert_close(out[b, t], want, atol=1e-5, rtol=1e-5)


def test_static_word_vectors_are_neither_trained_nor_saved():
    static = TextCNNEncoder(8, widths=(2,), over="words", vocab=20, word_dim=6)
    assert "word_table" not in dict(static.named_parameters())
    assert "word_table" not in static.state_dict()
    tuned = TextCNNEncoder(8, widths=(2,), over="words", vocab=20, word_dim=6, tune_words=True)
    assert tuned.word_table.requires_grad and "word_table" in tuned.state_dict()
    assert static.norm is None  # ids are not standardised
    with pytest.raises(RuntimeError, match="not loaded"):  # never a silent zero table
        static(torch.ones(1, 2, 8), torch.ones(1, 2, dtype=torch.bool), torch.zeros(1, 2).long())
    state = tuned.state_dict()
    reloaded = TextCNNEncoder(8, widths=(2,), over="words", vocab=20, word_dim=6, tune_words=True)
    reloaded.load_state_dict(state)  # trained vectors come with the weights
    assert reloaded.filled
    with pytest.raises(ValueError, match=r"\(20, 6\)"):
        static.load_word_vectors(torch.zeros(21, 6))
    with pytest.raises(ValueError, match=r"over=.words"):
        TextCNNEncoder(8, widths=(2,)).load_word_vectors(torch.zeros(20, 6))
    with pytest.raises(ValueError, match="exceeds the feature width"):
        TextCNNEncoder(2, widths=(3,), over="words", vocab=20, word_dim=6)


def test_a_words_textcnn_steps_as_it_runs_whole():
    from lmam.models import create_model

    torch.manual_seed(0)
    model = create_model(
        "textcnn", in_dims={"words": 8}, num_classes=3, fusion="none", over="words",
        widths=(2, 3), filters=5, dense=4, vocab=20, word_dim=6,
    ).eval()  # fmt: skip
    for m in model.modules():
        if isinstance(m, TextCNNEncoder):
            m.load_word_vectors(torch.randn(20, 6))
    assert model.can_step
    ids = torch.randint(0, 20, (1, 6, 8)).float()
    assert_steps_equal_forward(model, {"words": ids}, torch.tensor([[0, 1, 0, 1, 1, 0]]))


def test_words_cut_to_their_lengths_equal_the_full_width():
    """Chunks of utterances cut to their longest plus the widest filter give what the
    convolution over all positions gives, gradient included."""
    torch.manual_seed(0)
    enc = TextCNNEncoder(30, filters=4, widths=(3, 5), over="words", vocab=50, word_dim=6)
    enc.load_word_vectors(torch.randn(50, 6))
    enc.word_table.requires_grad_(True)
    ids = torch.randint(1, 50, (40, 30)).float()
    for i, n in enumerate(torch.randint(0, 31, (40,)).tolist()):
        ids[i, n:] = 0  # lengths 0..30
    ids[::5, 2] = 0  # a [PAD] inside some utterances too
    got = enc._words(ids, chunk=7)
    full = F.embedding(ids.long(), enc.word_table, padding_idx=0).transpose(1, 2)
    want = torch.cat([F.relu(c(full)).amax(-1) for c in enc.convs], -1)
    torch.testing.assert_close(got, want)
    (g_got,) = torch.autograd.grad(got.square().sum(), [enc.word_table])
    (g_want,) = torch.autograd.grad(want.square().sum(), [enc.word_table])
    torch.testing.assert_close(g_got, g_want)


def test_trained_word_vectors_keep_pad_at_zero():
    """With ``tune_words`` the [PAD] row gets no gradient: Kim pads with zero vectors."""
    torch.manual_seed(0)
    enc = TextCNNEncoder(8, filters=3, widths=(2,), over="words", vocab=20, word_dim=6,
                         tune_words=True)  # fmt: skip
    table = torch.randn(20, 6)
    table[0] = 0.0
    enc.load_word_vectors(table)
    ids = torch.randint(1, 20, (2, 3, 8)).float()
    ids[..., 5:] = 0
    enc(ids, torch.ones(2, 3, dtype=torch.bool), torch.zeros(2, 3).long()).sum().backward()
    assert enc.word_table.grad[0].abs().sum() == 0 and enc.word_table.grad[1:].abs().sum() > 0


def test_the_model_refuses_a_fusion_before_a_cnn_over_word_ids():
    """Word ids are numbers to look up, not features: ``create_model`` itself refuses
    a fusion that would mix them before the CNN, and builds the ones after it."""
    from lmam.models import create_model
    from lmam.options import OptionError

    words = {"model_options": {"over": "words", "vocab": 50, "word_dim": 8}}
    opts = dict(in_dims={"words": 6}, num_classes=2, **words["model_options"])
    for fusion, embed, dim in (("lmam", "early_residual", None), ("lmam", "early", None),
                               ("lmam", "parallel", None), ("concat", "early", 32)):  # fmt: skip
        with pytest.raises(OptionError, match="reads token ids, there is nothing to fuse"):
            create_model("textcnn", fusion=fusion, embed=embed, fusion_dim=dim, **opts)
    for fusion, embed in (("lmam", "late"), ("concat", "early"), ("none", "early")):
        create_model("textcnn", fusion=fusion, embed=embed, **opts)
    # over the utterance vectors the same fusions are fine
    create_model("textcnn", in_dims={"text": 6}, num_classes=2, fusion="lmam", embed="early")
