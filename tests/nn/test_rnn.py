import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lmam.nn.rnn import BiLSTM, BiRNN, recurrence, reverse_padded


def test_reverse_padded():
    x = torch.arange(8.0).view(2, 4, 1)
    out = reverse_padded(x, torch.tensor([3, 1]))
    assert out[:, :, 0].tolist() == [[2, 1, 0, 3], [4, 5, 6, 7]]
    torch.testing.assert_close(reverse_padded(out, torch.tensor([3, 1])), x)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_equals_packed_bidirectional_rnn(cell):
    torch.manual_seed(0)
    ours = BiLSTM(5, 4) if cell == "lstm" else BiRNN(5, 4, cell="gru")
    kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    ref = kind(5, 4, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(ours.fwd, f"{name}_l0"))
            getattr(ref, f"{name}_l0_reverse").copy_(getattr(ours.bwd, f"{name}_l0"))
    x = torch.randn(3, 6, 5)
    lengths = torch.tensor([6, 2, 4])
    mask = torch.arange(6).unsqueeze(0) < lengths.unsqueeze(1)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    want, _ = pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=6)
    torch.testing.assert_close(ours(x, mask), want, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_step_by_step_recurrence_equals_the_fused_kernel(cell):
    torch.manual_seed(0)
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(5, 4, batch_first=True)
    x = torch.randn(3, 6, 5)
    torch.testing.assert_close(recurrence(rnn, x, torch.ones(3, 4)), rnn(x)[0])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_dropout_is_a_state_mask_reused_at_every_step(cell):
    """A plain loop with an explicit mask on h, written here, gives the same outputs."""
    torch.manual_seed(0)
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(3, 4, batch_first=True)
    cell_ = (torch.nn.LSTMCell if cell == "lstm" else torch.nn.GRUCell)(3, 4)
    cell_.load_state_dict({k.replace("_l0", ""): v for k, v in rnn.state_dict().items()})
    x = torch.randn(2, 5, 3)
    h_mask = (torch.rand(2, 4) > 0.5).float() * 2
    want = []
    for b in range(2):
        h, c = torch.zeros(1, 4), torch.zeros(1, 4)
        for t in range(5):
            if cell == "lstm":
                # the cell multiplies W_hh by h: mask h, but carry the unmasked c
                gates = x[b, t : t + 1] @ cell_.weight_ih.T + cell_.bias_ih
                gates = gates + (h * h_mask[b]) @ cell_.weight_hh.T + cell_.bias_hh
                i, f, g, o = gates.chunk(4, -1)
                c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                h = o.sigmoid() * c.tanh()
            else:
                gi = x[b, t : t + 1] @ cell_.weight_ih.T + cell_.bias_ih
                gh = (h * h_mask[b]) @ cell_.weight_hh.T + cell_.bias_hh
                r = (gi[:, :4] + gh[:, :4]).sigmoid()
                z = (gi[:, 4:8] + gh[:, 4:8]).sigmoid()
                n = (gi[:, 8:] + r * gh[:, 8:]).tanh()
                h = (1 - z) * n + z * h
            want.append(h[0])
    want = torch.stack(want).view(2, 5, 4)
    torch.testing.assert_close(recurrence(rnn, x, h_mask), want)


@pytest.mark.parametrize("cell", ["lstm", "gru", "gru_keras2"])
def test_dropout_keeps_padding_exactness_and_determinism(cell):
    torch.manual_seed(0)
    rnn = BiRNN(5, 4, cell=cell, input_dropout=0.3, recurrent_dropout=0.4).train()
    x = torch.randn(2, 4, 5)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    longer = torch.cat([x, 100 * torch.randn(2, 3, 5)], 1)
    longer_mask = torch.cat([mask, torch.zeros(2, 3, dtype=torch.bool)], 1)
    torch.manual_seed(7)
    a = rnn(x, mask)
    torch.manual_seed(7)
    b = rnn(longer, longer_mask)
    torch.manual_seed(7)
    again = rnn(x, mask)
    torch.testing.assert_close(b[:, :4], a)
    assert torch.equal(a, again)
    assert torch.all(b[:, 4:] == 0) and torch.all(a[1, 2:] == 0)
    torch.manual_seed(8)
    assert not torch.equal(rnn(x, mask), a)  # the masks are random
    rnn.eval()
    torch.testing.assert_close(rnn(x, mask), rnn(x, mask))  # no dropout in evaluation


def _keras2_gru(x, w, u, b):
    """Keras 2's GRU (reset_after=False, hard-sigmoid gates) on one sequence, in Keras'
    own terms: kernels ``w (D, 3H)``, ``u (H, 3H)`` in z, r, h order, one bias ``b (3H,)``."""
    hid = u.shape[0]

    def hard(v):
        return torch.clamp(0.2 * v + 0.5, 0, 1)

    h = torch.zeros(hid)
    out = []
    for xt in x:
        z = hard(xt @ w[:, :hid] + h @ u[:, :hid] + b[:hid])
        r = hard(xt @ w[:, hid : 2 * hid] + h @ u[:, hid : 2 * hid] + b[hid : 2 * hid])
        hh = torch.tanh(xt @ w[:, 2 * hid :] + (r * h) @ u[:, 2 * hid :] + b[2 * hid :])
        h = z * h + (1 - z) * hh
        out.append(h)
    return torch.stack(out)


def test_keras2_gru_equals_keras_formulas_both_directions():
    torch.manual_seed(0)
    rnn = BiRNN(5, 4, cell="gru_keras2").eval()
    x = torch.randn(2, 6, 5)
    lengths = [6, 3]
    mask = torch.arange(6).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    got = rnn(x, mask)

    def keras_weights(gru):  # torch's r, z, n rows -> Keras' z, r, h columns; biases summed
        wr, wz, wn = gru.weight_ih_l0.chunk(3)
        ur, uz, un = gru.weight_hh_l0.chunk(3)
        b = gru.bias_ih_l0 + gru.bias_hh_l0
        br, bz, bn = b.chunk(3)
        return (
            torch.cat([wz, wr, wn]).T,
            torch.cat([uz, ur, un]).T,
            torch.cat([bz, br, bn]),
        )

    with torch.no_grad():
        for i, n in enumerate(lengths):
            fwd = _keras2_gru(x[i, :n], *keras_weights(rnn.fwd))
            bwd = _keras2_gru(x[i, :n].flip(0), *keras_weights(rnn.bwd)).flip(0)
            torch.testing.assert_close(got[i, :n], torch.cat([fwd, bwd], -1))
            assert torch.all(got[i, n:] == 0)


def test_unknown_cell():
    with pytest.raises(ValueError, match="cell must be one of"):
        BiRNN(5, 4, cell="rnn")
