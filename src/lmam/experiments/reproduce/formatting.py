"""How the reproduced tables write numbers and rows (Markdown)."""

from __future__ import annotations

import math


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GitHub Markdown table (first column left-aligned, the others right-aligned)."""
    out = ["| " + " | ".join(header) + " |"]
    out.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def pm(values: tuple[float, float] | None, scale: float = 100.0, digits: int = 2) -> str:
    """``mean ± std`` (scaled), or an en dash when absent."""
    if values is None:
        return "–"
    mean, std = values
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


def num(value: float | None, digits: int = 2) -> str:
    """A number, or an en dash when absent."""
    return "–" if value is None else f"{value:.{digits}f}"


def pvalue(p: float | None) -> str:
    """A p-value as the paper prints it (``4.8e-03``), or ``n/a`` (no variation)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return f"{p:.1e}"
