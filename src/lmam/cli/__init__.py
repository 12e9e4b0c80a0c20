"""The ``lmam`` command line."""

from __future__ import annotations

import importlib
import sys
from typing import Any, NamedTuple

import typer

import lmam
from lmam.cli.errors import JSON_HELP, ClearErrors, log_console, plural, show_rows
from lmam.errors import OptionError
from lmam.options import closest


class Lazy(NamedTuple):
    """A command defined elsewhere, imported only when it runs (or its help is asked for)."""

    module: str
    attribute: str
    help: str


LAZY = {
    "data": Lazy(
        "lmam.cli.data",
        "data_app",
        "List, inspect and export datasets (registered names, or files in any known layout).",
    ),
    "demo": Lazy(
        "lmam.cli.experiments",
        "demo_command",
        "The main job: bc-LSTM with concatenation vs with LMAM on the bundled CMU-MOSI.",
    ),
    "evaluate": Lazy(
        "lmam.cli.train",
        "evaluate_command",
        "Recompute a run's test metrics from its checkpoint and compare with the record, or "
        "score the run's model on new labelled data (--data).",
    ),
    "experiment": Lazy(
        "lmam.cli.experiments", "experiment_app", "Comparisons over seeds (tables + JSON)."
    ),
    "features": Lazy(
        "lmam.cli.features",
        "features_app",
        "Build derived features, cached in lmam's format.",
    ),
    "humour": Lazy(
        "lmam.cli.humour",
        "humour_app",
        "Humour detection: C-MFN and C-MFN* (with LMAM) on UR-FUNNY.",
    ),
    "predict": Lazy(
        "lmam.cli.train",
        "predict_command",
        "Predict every utterance of new data with a run's model.",
    ),
    "reproduce": Lazy(
        "lmam.cli.reproduce",
        "reproduce_command",
        "Reproduce a table of the LMAM paper: trains what it needs (a finished run is reused, "
        "an interrupted one continues), then writes Markdown, JSON and PNGs under "
        "OUT/TABLE/DATASET, with the paper's numbers beside ours.",
    ),
    "runs": Lazy(
        "lmam.cli.runs",
        "runs_command",
        "Summarise finished runs: grouped by configuration, mean ± std over seeds.",
    ),
    "serve": Lazy(
        "lmam.cli.serve",
        "serve_command",
        "Serve a run's model over HTTP: predictions, live sessions and a web page at /.",
    ),
    "session": Lazy(
        "lmam.cli.session",
        "session_app",
        "Session recommendation: DHCN and DHCN* (with LMAM) on Diginetica.",
    ),
    "tune": Lazy(
        "lmam.cli.tune",
        "tune_command",
        "Tune a configuration on validation data (Optuna: TPE, median pruning); the test "
        "split is never read by the study.",
    ),
    "train": Lazy(
        "lmam.cli.train",
        "train_command",
        "Train a model; writes a run directory (config, metrics, checkpoint, predictions).",
    ),
}
"""The commands that need torch: imported on use, so that ``lmam --help`` and
``lmam --version`` start at once. ``help`` is the command's short help, as
``lmam --help`` lists it (a test checks it against the command's own)."""


def load_command(name: str) -> Any:
    """The click command of a :data:`LAZY` entry (its module imported now)."""
    entry = LAZY[name]
    obj = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(obj, typer.Typer):
        command = typer.main.get_command(obj)
    else:
        holder = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)
        holder.command(name)(obj)
        command = typer.main.get_command(holder)
    command.name = name
    return command


class LazyCommands(ClearErrors):
    """The root group: the :data:`LAZY` commands load when they are run."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in LAZY:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            if name in LAZY:
                text = LAZY[name].help
                short = typer.core.TyperCommand(name, help=text).get_short_help_str(limit)
                rows.append((name, short))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="lmam",
    cls=LazyCommands,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Multimodal conversational emotion recognition with low-rank matching attention.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        print(f"lmam {lmam.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version"
    ),
) -> None:
    """Multimodal conversational emotion recognition with low-rank matching attention.

    Exit codes: 0 success, 1 bad data or a run that cannot be used as asked,
    2 a bad command line, option or config value, 130 interrupted.
    """


@app.command()
def version() -> None:
    """Print the version."""
    print(lmam.__version__)


@app.command()
def models(
    dim: int = typer.Option(100, help="width of every modality for the parameter count"),
    classes: int = typer.Option(6, help="number of classes for the parameter count"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the registered backbones with their parameter counts (concat and LMAM)."""
    from lmam.models import create_model
    from lmam.models.registry import MODELS

    dims = dict.fromkeys(("text", "audio", "visual"), dim)
    rows = []
    for name in lmam.list_models():
        counts = []
        for fusion, embed in (("concat", "early"), ("lmam", "early_residual")):
            model = create_model(
                name, in_dims=dims, num_classes=classes, fusion=fusion, embed=embed
            )
            counts.append(sum(p.numel() for p in model.parameters() if p.requires_grad))
        spec = MODELS.get(name)
        rows.append(
            {
                "name": name,
                "parameters_concat_early": counts[0],
                "parameters_lmam_early_residual": counts[1],
                "dropout": f"{spec.default('dropout')} ({spec.dropout_origin})",
                "description": MODELS.describe(name),
            }
        )
    show_rows(f"models (three modalities of width {dim}, {classes} classes)", rows, as_json)


@app.command()
def fusions(
    dim: int = typer.Option(100, help="width of every modality for the parameter count"),
    out_dim: int = typer.Option(100, help="output width for the parameter count"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the registered fusions with their parameter counts for three modalities."""
    rows = []
    for name in lmam.list_fusions():
        module = lmam.create_fusion(
            name, in_dims=dict.fromkeys(("text", "audio", "visual"), dim), out_dim=out_dim
        )
        count = sum(p.numel() for p in module.parameters() if p.requires_grad)
        rows.append({"name": name, "parameters": count, "class": type(module).__name__})
    show_rows(f"fusions (three modalities of width {dim}, out_dim {out_dim})", rows, as_json)


@app.command()
def recipes() -> None:
    """List the named training recipes and where each comes from."""
    from lmam.train.recipes import RECIPES

    rows = [{"name": r.name, "what": r.summary, "source": r.source} for r in RECIPES.values()]
    show_rows("recipes (lmam train --recipe NAME; flags override them)", rows)


@app.command()
def cache(
    action: str = typer.Argument("list", help="list (default) or clear"),
    kind: list[str] = typer.Option(
        [], "--kind", help="only this kind: text, encoders or audio (repeat; default: all)"
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="clear without asking"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """See or clear lmam's caches (text and audio features, encoders)."""
    from lmam.features.cache import KINDS, cache_entries, clear_cache
    from lmam.features.text import cache_dir

    if action not in ("list", "clear"):
        raise OptionError(
            f"cache takes list or clear, got {action!r}{closest(action, ['list', 'clear'])}"
        )
    for k in kind:
        if k not in KINDS:
            raise OptionError(
                f"--kind must be one of {', '.join(KINDS)}, got {k!r}{closest(k, list(KINDS))}"
            )
    entries = [e for e in cache_entries() if not kind or e.kind in kind]
    total = sum(e.bytes for e in entries)
    if action == "list":
        rows = [
            {"kind": e.kind, "path": str(e.path), "files": e.files, "bytes": e.bytes}
            for e in entries
        ]
        title = (
            f"lmam's caches ({cache_dir()} and its audio cache): "
            f"{plural(len(entries), 'entry', 'entries')}, {total / 1e6:.1f} MB"
        )
        show_rows(title, rows, as_json)
        return
    if not entries:
        log_console().print("nothing to clear")
        return
    if not yes and not sys.stdin.isatty():
        raise OptionError(
            "cache clear asks before it removes anything: give --yes to clear without a terminal"
        )
    if not yes and not typer.confirm(
        f"remove {plural(len(entries), 'entry', 'entries')} ({total / 1e6:.1f} MB)?"
    ):
        raise typer.Exit(1)
    freed = clear_cache(entries)
    log_console().print(f"removed {plural(len(entries), 'entry', 'entries')}, {freed / 1e6:.1f} MB")


def main() -> None:
    """Run the CLI (errors end as :mod:`lmam.cli.errors` describes)."""
    app(prog_name="lmam")
