import pytest
import torch

from lmam.nn import MatchingAttention


def classic(att: MatchingAttention, memory, x, mask):
    """The sequence-first original: one query (B, D) at a time."""
    m = memory.transpose(0, 1)  # (S, B, D)
    if att.att_type == "simple":
        scores = att.scalar(m).permute(1, 2, 0)  # (B, 1, S): the query plays no part
    elif att.att_type == "dot":
        scores = torch.bmm(x.unsqueeze(1), m.permute(1, 2, 0))
    elif att.att_type == "general":
        scores = torch.bmm(att.transform(x).unsqueeze(1), m.permute(1, 2, 0))
    elif att.att_type == "general2":
        scores = torch.tanh(torch.bmm(att.transform(x).unsqueeze(1), m.permute(1, 2, 0)))
    else:
        s = m.shape[0]
        cand = x.unsqueeze(0).expand(s, -1, -1)
        scores = att.vector_prod(torch.tanh(att.transform(torch.cat([m, cand], -1))))
        scores = scores.permute(1, 2, 0)
    scores = scores.masked_fill(~mask.bool().unsqueeze(1), float("-inf"))
    alpha = torch.softmax(scores, dim=2)
    return torch.bmm(alpha, m.transpose(0, 1)).squeeze(1), alpha


@pytest.mark.parametrize("att_type", ["simple", "dot", "general", "general2", "concat"])
def test_batched_equals_one_query_at_a_time(att_type):
    torch.manual_seed(0)
    att = MatchingAttention(6, 6, alpha_dim=5, att_type=att_type)
    memory = torch.randn(2, 4, 6)
    queries = torch.randn(2, 3, 6)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    pooled, alpha = att(memory, queries, mask)
    assert pooled.shape == (2, 3, 6) and alpha.shape == (2, 3, 4)
    assert torch.all(alpha[1, :, 2:] == 0)
    for t in range(3):
        want, want_alpha = classic(att, memory, queries[:, t], mask)
        torch.testing.assert_close(pooled[:, t], want)
        torch.testing.assert_close(alpha[:, t], want_alpha[:, 0])
    single, _ = att(memory, queries[:, 0], mask)
    torch.testing.assert_close(single, pooled[:, 0])


def test_bad_arguments():
    with pytest.raises(ValueError):
        MatchingAttention(4, 5, att_type="dot")
    with pytest.raises(ValueError):
        MatchingAttention(4, 4, att_type="bilinear")
    with pytest.raises(ValueError):
        MatchingAttention(4, 4)(torch.randn(2, 3, 4), torch.randn(3, 1, 4))
