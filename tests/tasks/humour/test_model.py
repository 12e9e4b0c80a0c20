"""C-MFN / C-MFN*: shapes, every variant, padding invariance, the table end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from lmam.cli import app
from lmam.tasks.humour.model import CMFN

DIMS = {"text": 6, "audio": 3, "visual": 4}


def inputs(b: int = 3, t: int = 5, s: int = 2, w: int = 4):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    punch = {m: torch.randn(b, t, d) for m, d in DIMS.items()}
    pmask = torch.ones(b, t, dtype=torch.bool)
    pmask[0, 3:] = False
    ctx = {m: torch.randn(b, s, w, d) for m, d in DIMS.items()}
    cmask = torch.ones(b, s, w, dtype=torch.bool)
    cmask[1] = False  # a segment with no context
    cmask[2, 1, 2:] = False
    return punch, pmask, ctx, cmask


@pytest.mark.parametrize("variant", ["full", "punchline", "context"])
@pytest.mark.parametrize("lmam", [False, True])
@pytest.mark.parametrize("mods", [("text",), ("audio", "visual"), ("text", "audio", "visual")])
def test_shapes_and_padding_invariance(variant: str, lmam: bool, mods: tuple[str, ...]) -> None:
    model = CMFN({m: DIMS[m] for m in mods}, variant=variant, lmam=lmam, hidden=8, memory=8,
                 context_dim=8, rank=4).eval()  # fmt: skip
    punch, pmask, ctx, cmask = inputs()
    out = model(punch, pmask, ctx, cmask)
    assert out.shape == (3,) and torch.isfinite(out).all()
    # changing padded values changes nothing
    punch2 = {m: x.clone() for m, x in punch.items()}
    ctx2 = {m: x.clone() for m, x in ctx.items()}
    for m in DIMS:
        punch2[m][~pmask] = 7.0
        ctx2[m][~cmask] = -3.0
    torch.testing.assert_close(model(punch2, pmask, ctx2, cmask), out)
    out.sum().backward()


def test_bad_variant() -> None:
    with pytest.raises(ValueError, match="variant must be one of"):
        CMFN(DIMS, variant="both")


def test_table14_end_to_end_on_synthetic(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "urfunny"
    assert runner.invoke(app, ["humour", "synthetic", str(data), "--segments", "20"]).exit_code == 0
    out = tmp_path / "table14.json"
    args = ["humour", "table14", str(data), "--out", str(out), "--epochs", "1", "--hidden", "4"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = json.loads(out.read_text())
    assert list(table["cells"]) == [
        "C-MFN (P)",
        "C-MFN (C)",
        "C-MFN",
        "C-MFN (P)*",
        "C-MFN (C)*",
        "C-MFN*",
    ]
    assert list(table["cells"]["C-MFN*"]) == ["T", "A+V", "T+A", "T+V", "T+A+V"]
    assert "| C-MFN* |" in out.with_suffix(".md").read_text()
    bad = runner.invoke(app, [*args, "--modalities", "T+X"])
    assert bad.exit_code == 2 and "T+A+V" in bad.output
    bad = runner.invoke(app, ["humour", "table14", str(tmp_path / "none")])
    assert bad.exit_code == 1 and "no such folder" in bad.output
