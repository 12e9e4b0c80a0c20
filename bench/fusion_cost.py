"""Parameters and forward+backward time of the fusions, side by side.

At B=16 dialogues, T=80 utterances (60 real), d=512 per modality, out_dim=256,
three modalities, rank 45, sources="all":

1. LMAM (and two variants that show where its time goes) against the
   self-attention reference, interleaved round by round in 5 blocks of 9
   rounds; the time target is the median of the blocks' ratios, and the
   spread of the blocks is printed, as the machine's noise;
2. LMAM against its row-by-row definition (Algorithm 1);
3. every registered fusion side by side;
4. the time growth with T for every fusion.

    python -m bench.fusion_cost            # full run, writes bench/results/fusion_cost.json
    python -m bench.fusion_cost --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

import torch

from bench.common import environment, interleaved_medians, print_table, write_json
from lmam import create_fusion, list_fusions
from lmam.nn import LMAM, lmam_rowwise

B, T, REAL, D, OUT, RANK = 16, 80, 60, 512, 256, 45
MODS = ("text", "audio", "visual")
GROWTH_T = (20, 40, 80, 160, 320)
TARGETS = {"params_ratio_max": 0.18, "time_ratio_max": 0.40, "rowwise_speedup_min": 6.0}


def inputs(length: int, real: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    feats = {m: torch.randn(B, length, D, generator=g) for m in MODS}
    mask = torch.zeros(B, length, dtype=torch.bool)
    mask[:, :real] = True
    return feats, mask


def build(name: str) -> torch.nn.Module:
    options: dict[str, object] = {"rank": RANK, "sources": "all"} if name == "lmam" else {}
    if name == "self_attention":
        options = {"sources": "all"}
    torch.manual_seed(0)
    return create_fusion(name, in_dims=dict.fromkeys(MODS, D), out_dim=OUT, **options)


def step(
    module: torch.nn.Module,
    feats: dict[str, torch.Tensor],
    mask: torch.Tensor,
    forward: Callable[..., torch.Tensor] | None = None,
) -> Callable[[], None]:
    """One forward+backward pass of ``forward`` (default: the module itself)."""
    call = forward or module

    def run() -> None:
        module.zero_grad(set_to_none=True)
        call(feats, mask).sum().backward()

    return run


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def headline(
    jobs: dict[str, Callable[[], None]], blocks: int, reps: int
) -> tuple[dict[str, float], list[float]]:
    """LMAM, its variants and self-attention, interleaved, in ``blocks`` blocks
    of ``reps`` rounds: the median seconds of every job over all rounds, and the
    lmam / self_attention ratio of each block (its spread shows the machine's noise)."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    block_ratios = []
    for _ in range(blocks):
        secs = interleaved_medians(jobs, dict.fromkeys(jobs, reps), samples=samples)
        block_ratios.append(secs["lmam"] / secs["self_attention"])
    return {name: statistics.median(t) for name, t in samples.items()}, block_ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--fusions", nargs="*", default=None, help="default: every registered fusion"
    )
    args = parser.parse_args()
    reps = 3 if args.quick else 9
    blocks = 2 if args.quick else 5
    names = args.fusions or list_fusions()
    for must in ("lmam", "self_attention"):
        if must not in names:
            names.append(must)

    feats, mask = inputs(T, REAL)
    modules = {name: build(name) for name in names}
    # LMAM variants that show where its time goes: rank 1 (almost no low-rank
    # work: what remains is shared with self-attention) and the dense query
    variants: dict[str, dict[str, Any]] = {
        "lmam_rank1": {"rank": 1},
        "lmam_full_query": {"query": "full"},
    }
    for vname, opts in variants.items():
        torch.manual_seed(0)
        modules[vname] = create_fusion("lmam", in_dims=dict.fromkeys(MODS, D), out_dim=OUT, **opts)
    lmam_module = modules["lmam"]
    assert isinstance(lmam_module, LMAM)

    # 1. the targets: LMAM, its variants and self-attention side by side
    main_jobs = {
        name: step(modules[name], feats, mask) for name in ["lmam", "self_attention", *variants]
    }
    secs, block_ratios = headline(main_jobs, blocks, reps)
    # the row-by-row definition, against LMAM (it is slow: fewer rounds)
    rowwise = interleaved_medians(
        {
            "lmam": main_jobs["lmam"],
            "lmam_rowwise": step(
                lmam_module, feats, mask, lambda f, k: lmam_rowwise(lmam_module, f, k)
            ),
        },
        {"lmam": 3, "lmam_rowwise": 3},
    )
    secs["lmam_rowwise"] = rowwise["lmam_rowwise"]
    # 2. every fusion side by side
    zoo = interleaved_medians(
        {name: step(modules[name], feats, mask) for name in names}, dict.fromkeys(names, reps)
    )
    params = {name: n_params(m) for name, m in modules.items()}
    params["lmam_rowwise"] = params["lmam"]

    sa_att = sum(
        p.numel()
        for n, p in modules["self_attention"].named_parameters()
        if n.startswith(("wq.", "wk.", "wv."))
    )
    lmam_att = sum(p.numel() for n, p in lmam_module.named_parameters() if n.startswith("query."))
    ratios = {
        "params_ratio": params["lmam"] / params["self_attention"],
        "attention_params_ratio": lmam_att / sa_att,
        "time_ratio": statistics.median(block_ratios),
        "rowwise_speedup": rowwise["lmam_rowwise"] / rowwise["lmam"],
    }
    print_table(
        f"LMAM against self-attention, forward+backward, B={B} T={T} ({REAL} real) d={D} "
        f"out={OUT} rank={RANK}; median of {blocks} x {reps} interleaved rounds",
        ["fusion", "params", "seconds", "x self_attention"],
        [
            [name, params[name], secs[name], secs[name] / secs["self_attention"]]
            for name in ["lmam", "self_attention", "lmam_rowwise", *variants]
        ],
    )
    print_table(
        f"every fusion, forward+backward, same shapes; median of {reps} interleaved rounds",
        ["fusion", "params", "seconds", "x self_attention"],
        [[name, params[name], zoo[name], zoo[name] / zoo["self_attention"]] for name in names],
    )
    spread = f"blocks: {', '.join(f'{r:.3f}' for r in block_ratios)}"
    checks = [
        [
            "lmam params / self_attention params",
            ratios["params_ratio"],
            f"<= {TARGETS['params_ratio_max']}",
            ratios["params_ratio"] <= TARGETS["params_ratio_max"],
        ],
        [
            "lmam attention weights / self_attention's",
            ratios["attention_params_ratio"],
            "(info)",
            "-",
        ],
        [
            f"lmam time / self_attention time ({spread})",
            ratios["time_ratio"],
            f"<= {TARGETS['time_ratio_max']}",
            ratios["time_ratio"] <= TARGETS["time_ratio_max"],
        ],
        [
            "row-by-row time / lmam time",
            ratios["rowwise_speedup"],
            f">= {TARGETS['rowwise_speedup_min']}",
            ratios["rowwise_speedup"] >= TARGETS["rowwise_speedup_min"],
        ],
    ]
    print_table("targets", ["ratio", "measured", "target", "met"], checks)

    growth: dict[str, dict[str, float]] = {name: {} for name in names}
    for length in GROWTH_T:
        g_feats, g_mask = inputs(length, (3 * length) // 4)
        g_jobs = {name: step(modules[name], g_feats, g_mask) for name in names}
        g_secs = interleaved_medians(g_jobs, {name: max(2, reps // 2) for name in g_jobs})
        for name in names:
            growth[name][str(length)] = g_secs[name]
    print_table(
        "forward+backward seconds against T (3/4 of T real)",
        ["fusion", *[f"T={t}" for t in GROWTH_T]],
        [[name, *[growth[name][str(t)] for t in GROWTH_T]] for name in names],
    )
    path = write_json(
        "fusion_cost",
        {
            "config": {
                "B": B,
                "T": T,
                "real": REAL,
                "d": D,
                "out_dim": OUT,
                "rank": RANK,
                "modalities": list(MODS),
                "sources": "all",
                "repeats": reps,
                "blocks": blocks,
            },
            "environment": environment(),
            "params": params,
            "seconds_fwd_bwd": secs,
            "time_ratio_blocks": block_ratios,
            "every_fusion_seconds_fwd_bwd": zoo,
            "ratios": ratios,
            "targets": TARGETS,
            "targets_met": {str(c[0]).split(" (")[0]: c[3] for c in checks if c[3] != "-"},
            "growth_seconds_fwd_bwd": growth,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
