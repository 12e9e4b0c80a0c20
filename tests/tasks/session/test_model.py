"""DHCN's computations that follow the authors' code, each against its option."""

from __future__ import annotations

import pytest
import torch

from lmam.tasks.session.graph import Hypergraph
from lmam.tasks.session.model import DHCN

SESSIONS = [[1, 2, 3], [2, 4], [3, 4, 5], [1, 5]]


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    items = torch.tensor([[1, 2, 3], [2, 4, 0], [3, 5, 0]])
    return items, items > 0


@pytest.mark.parametrize("detach_line", [True, False])
def test_the_self_supervised_loss_trains_the_line_channel_only_when_asked(detach_line: bool):
    torch.manual_seed(0)
    model = DHCN(5, Hypergraph(SESSIONS, 5), dim=8, layers=2, detach_line=detach_line)
    items, mask = batch()
    line = model.line_channel(items, mask)
    # the authors' code: the line-graph channel reads a detached copy, no gradient flows
    assert line.requires_grad != detach_line
    _, hyper = model(items, mask)
    loss = model.ssl_loss(hyper, model.line_channel(items, mask))
    loss.backward()
    assert model.embedding.grad is not None and model.embedding.grad.abs().sum() > 0


def test_w1_has_a_bias_as_in_the_authors_code():
    graph = Hypergraph(SESSIONS, 5)
    assert DHCN(5, graph, dim=8).w_1.bias is not None
    assert DHCN(5, graph, dim=8, w1_bias=False).w_1.bias is None
