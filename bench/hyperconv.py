"""DHCN's hypergraph convolution: torch's CSR product against ``embedding_bag``, side by side.

One convolution ``D^-1 H B^-1 H^T X`` (and the training step's forward and
backward through three of them, as DHCN runs it per batch) over the
Diginetica training hypergraph (``../shared/data/diginetica``; a random
hypergraph of the same size when it is absent), D = 100, interleaved round by
round so that the machine's noise hits both alike. Both compute the same sums;
the largest difference is printed.

    python -m bench.hyperconv [--threads 1] [--repeats 7]   # writes bench/results/hyperconv.json
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.common import environment, interleaved_medians, print_table, write_json
from lmam.tasks.session.graph import Hypergraph

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "diginetica"
DIM, LAYERS = 100, 3


def sessions() -> tuple[list[list[int]], int, str]:
    if (DATA / "all_train_seq.txt").exists():
        from lmam.tasks.session.data import load_sessions

        data = load_sessions(DATA, max_cases=1)
        return data.train_sessions, data.num_items, "Diginetica training sessions"
    rng = np.random.default_rng(0)
    n = 43_097
    out = [list(rng.integers(1, n + 1, int(rng.integers(2, 8)))) for _ in range(168_003)]
    return out, n, "random sessions of Diginetica's size"


class CSRProducts(torch.autograd.Function):
    """The same convolution as torch CSR products (the factors' transposes for the gradient)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, m: dict[str, torch.Tensor]) -> torch.Tensor:
        ctx.m = m
        return m["item"] @ (m["edge"] @ x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        m = ctx.m
        return m["edge_t"] @ (m["item_t"] @ grad.contiguous()), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    edges, n, source = sessions()
    graph = Hypergraph(edges, n)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        csr = {
            name: f.csr()
            for name, f in (
                ("item", graph.item_side),
                ("edge", graph.edge_side),
                ("item_t", graph.item_side_t),
                ("edge_t", graph.edge_side_t),
            )
        }
    x = torch.randn(n, DIM, generator=torch.Generator().manual_seed(0))
    w = torch.randn(n, DIM, generator=torch.Generator().manual_seed(1))

    def step(conv: Any) -> None:
        p = x.clone().requires_grad_()
        total, h = p, p
        for _ in range(LAYERS):
            h = conv(h)
            total = total + h
        (total * w).sum().backward()

    jobs = {
        "CSR product, 1 conv": lambda: CSRProducts.apply(x, csr),
        "embedding_bag, 1 conv": lambda: graph.conv(x),
        "CSR product, 3 convs fwd+bwd": lambda: step(lambda h: CSRProducts.apply(h, csr)),
        "embedding_bag, 3 convs fwd+bwd": lambda: step(graph.conv),
    }
    seconds = interleaved_medians(jobs, {k: args.repeats for k in jobs})
    diff = float((CSRProducts.apply(x, csr) - graph.conv(x)).abs().max())
    rows = []
    for what in ("1 conv", "3 convs fwd+bwd"):
        a, b = seconds[f"CSR product, {what}"], seconds[f"embedding_bag, {what}"]
        rows.append([what, a, b, a / b])
    print_table(
        f"Hypergraph convolution, {source} (N={n:,}, nnz={graph.nnz:,}, D={DIM}), "
        f"{args.threads} thread(s), median of {args.repeats}",
        ["work", "CSR product (s)", "embedding_bag (s)", "CSR / embedding_bag"],
        rows,
    )
    print(f"largest difference between the two: {diff:.2e}")
    path = write_json(
        "hyperconv",
        {
            "source": source,
            "num_items": n,
            "nnz": graph.nnz,
            "dim": DIM,
            "threads": args.threads,
            "repeats": args.repeats,
            "seconds": seconds,
            "ratios": {r[0]: r[3] for r in rows},
            "max_abs_difference": diff,
            "environment": environment(),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
