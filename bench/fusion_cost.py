"""Parameters and forward+backward time of the fusions, side by side.

At B=16 dialogues, T=80 utterances (60 real), d=512 per modality, out_dim=256,
three modalities, rank 45, sources="all": LMAM, the self-attention reference,
the row-by-row definition of LMAM (Algorithm 1) and every other registered
fusion; then the time growth with T for every fusion.

    python bench/fusion_cost.py            # full run, writes bench/results/fusion_cost.json
    python bench/fusion_cost.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

from common import environment, interleaved_medians, print_table, write_json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--fusions", nargs="*", default=None, help="default: every registered fusion"
    )
    args = parser.parse_args()
    reps = 3 if args.quick else 9
    names = args.fusions or list_fusions()
    for must in ("lmam", "self_attention"):
        if must not in names:
            names.append(must)

    feats, mask = inputs(T, REAL)
    modules = {name: build(name) for name in names}
    jobs = {name: step(m, feats, mask) for name, m in modules.items()}
    # LMAM variants that show where its time goes: rank 1 (almost no low-rank
    # work: what remains is shared with self-attention) and the dense query
    variants = {"lmam_rank1": {"rank": 1}, "lmam_full_query": {"query": "full"}}
    for vname, opts in variants.items():
        torch.manual_seed(0)
        modules[vname] = create_fusion("lmam", in_dims=dict.fromkeys(MODS, D), out_dim=OUT, **opts)
        jobs[vname] = step(modules[vname], feats, mask)
    lmam_module = modules["lmam"]
    assert isinstance(lmam_module, LMAM)
    jobs["lmam_rowwise"] = step(
        lmam_module, feats, mask, lambda f, k: lmam_rowwise(lmam_module, f, k)
    )
    repeats = {name: reps for name in jobs}
    repeats["lmam_rowwise"] = max(2, reps // 3)
    secs = interleaved_medians(jobs, repeats)
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
        "time_ratio": secs["lmam"] / secs["self_attention"],
        "rowwise_speedup": secs["lmam_rowwise"] / secs["lmam"],
    }
    rows = [
        [name, params[name], secs[name], secs[name] / secs["self_attention"]]
        for name in [
            "lmam",
            "self_attention",
            "lmam_rowwise",
            *variants,
            *[n for n in names if n not in ("lmam", "self_attention")],
        ]
    ]
    print_table(
        f"forward+backward, B={B} T={T} ({REAL} real) d={D} out={OUT} rank={RANK}, median of {reps}",
        ["fusion", "params", "seconds", "x self_attention"],
        rows,
    )
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
            "lmam time / self_attention time",
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
            },
            "environment": environment(),
            "params": params,
            "seconds_fwd_bwd": secs,
            "ratios": ratios,
            "targets": TARGETS,
            "targets_met": {c[0]: c[3] for c in checks if c[3] != "-"},
            "growth_seconds_fwd_bwd": growth,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
