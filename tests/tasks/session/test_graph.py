"""The sparse hypergraph convolution and the line graph against plain references."""

from __future__ import annotations

import torch

from lmam.tasks.session.graph import Hypergraph, line_graph

SESSIONS = [[1, 2, 3], [2, 3, 3, 5], [4], [1, 5, 2], [6, 1]]  # item 7 in no session
N = 7


def dense_conv(sessions: list[list[int]], n: int, x: torch.Tensor) -> torch.Tensor:
    h = torch.zeros(n, len(sessions), dtype=torch.float64)
    for e, s in enumerate(sessions):
        for v in s:
            h[v - 1, e] = 1.0
    d_inv = torch.diag(torch.where(h.sum(1) > 0, 1 / h.sum(1), torch.zeros(n, dtype=h.dtype)))
    b_inv = torch.diag(1 / h.sum(0))
    return d_inv @ h @ b_inv @ h.T @ x


def test_hypergraph_conv_equals_dense_reference() -> None:
    graph = Hypergraph(SESSIONS, N)
    assert graph.nnz == 12  # repeats count once
    x = torch.randn(N, 4, dtype=torch.float64)
    graph.to(torch.device("cpu"), torch.float64)
    ref = dense_conv(SESSIONS, N, x)
    torch.testing.assert_close(graph.conv(x), ref)
    assert torch.all(graph.conv(x)[6] == 0)  # an item in no hyperedge


def test_hypergraph_gradient_and_propagate() -> None:
    graph = Hypergraph(SESSIONS, N)
    x = torch.randn(N, 3, requires_grad=True)
    w = torch.randn(N, 3)
    (graph.propagate(x, 2) * w).sum().backward()
    xd = x.detach().double().requires_grad_()
    one = dense_conv(SESSIONS, N, xd)
    two = dense_conv(SESSIONS, N, one)
    ((xd + one + two) / 3 * w.double()).sum().backward()
    assert x.grad is not None and xd.grad is not None
    torch.testing.assert_close(x.grad.double(), xd.grad, rtol=1e-5, atol=1e-6)


def test_line_graph_equals_double_loop() -> None:
    items = torch.tensor([[1, 2, 3, 0], [2, 3, 3, 5], [4, 0, 0, 0], [6, 1, 0, 0], [9, 9, 0, 0]])
    mask = items > 0
    out = line_graph(items, mask)
    sets = [set(row[m].tolist()) for row, m in zip(items, mask)]
    b = len(sets)
    ref = torch.zeros(b, b)
    for i in range(b):
        for j in range(b):
            ref[i, j] = 1.0 if i == j else len(sets[i] & sets[j]) / len(sets[i] | sets[j])
    ref = ref / ref.sum(1, keepdim=True)
    torch.testing.assert_close(out, ref)


def test_ssl_loss_stays_finite_for_large_embeddings() -> None:
    from lmam.tasks.session.model import DHCN

    model = DHCN(N, Hypergraph(SESSIONS, N), dim=4, layers=1)
    hyper = torch.full((3, 4), 50.0)
    loss = model.ssl_loss(hyper, hyper.clone().requires_grad_())
    assert torch.isfinite(loss)
    loss.backward()


def test_factors_and_their_transposes_equal_the_dense_matrices() -> None:
    graph = Hypergraph(SESSIONS, N)
    h = torch.zeros(N, len(SESSIONS))
    for e, s in enumerate(SESSIONS):
        for v in s:
            h[v - 1, e] = 1.0
    item_side = h / h.sum(1, keepdim=True).clamp_min(1.0)
    edge_side = h.T / h.sum(0)[:, None]
    torch.testing.assert_close(graph.item_side.dense(), item_side)
    torch.testing.assert_close(graph.edge_side.dense(), edge_side)
    torch.testing.assert_close(graph.item_side_t.dense(), item_side.T)
    torch.testing.assert_close(graph.edge_side_t.dense(), edge_side.T)
    x = torch.randn(len(SESSIONS), 3)
    torch.testing.assert_close(graph.item_side @ x, item_side @ x)  # row 7 is an empty bag
    torch.testing.assert_close(graph.edge_side.csr().to_dense(), edge_side)
