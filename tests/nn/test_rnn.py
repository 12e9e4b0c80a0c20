import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lmam.nn.rnn import BiLSTM, reverse_padded


def test_reverse_padded():
    x = torch.arange(8.0).view(2, 4, 1)
    out = reverse_padded(x, torch.tensor([3, 1]))
    assert out[:, :, 0].tolist() == [[2, 1, 0, 3], [4, 5, 6, 7]]
    torch.testing.assert_close(reverse_padded(out, torch.tensor([3, 1])), x)


def test_equals_packed_bidirectional_lstm():
    torch.manual_seed(0)
    ours = BiLSTM(5, 4)
    ref = torch.nn.LSTM(5, 4, batch_first=True, bidirectional=True)
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
