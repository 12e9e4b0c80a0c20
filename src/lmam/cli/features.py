"""``lmam features ...``: build derived features (mounted by ``lmam.cli``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import typer
from rich.markup import escape

from lmam.cli.data import info_tables
from lmam.cli.errors import MKDIR_HELP, command_group, log_console, out_console, plural
from lmam.data.conversation_files import ConversationFile, is_conversation_file, read_conversations
from lmam.data.dataset import ConversationDataset
from lmam.data.lmam_format import save_dataset
from lmam.data.registry import create_dataset
from lmam.errors import OptionError
from lmam.features import datasets as _datasets  # noqa: F401  (registers the *-text datasets)
from lmam.features.audio import FEATURE_SETS, audio_cache_dir, extract_audio
from lmam.features.finetune import asked_fine_tuning
from lmam.features.raw import with_modality, write_features
from lmam.features.text import ENCODERS, TEXT_BATCH, cache_dir, cached_text_dataset, check_encoder
from lmam.features.words import maybe_with_words
from lmam.outputs import check_output

features_app = command_group("Build derived features, cached in lmam's format.")
NAMES = ("iemocap-text", "meld-text")


@features_app.callback()
def features() -> None:
    """Build derived features, cached in lmam's format."""


@features_app.command("text")
def text(
    name: str = typer.Argument(
        ..., help=f"what to build: {' or '.join(NAMES)}, or a conversation file (.csv / .jsonl)"
    ),
    path: Path | None = typer.Argument(
        None,
        help="the source: cosmic_iemocap.pkl / cosmic_meld.pkl (or their directory), or a "
        "directory of MELD's CSVs; default: under the data root ($LMAM_DATA)",
    ),
    out: Path | None = typer.Option(
        None, help="also write the dataset to this .npz file (required for a conversation file)"
    ),
    cache: Path | None = typer.Option(
        None, "--cache-dir", help="default: $LMAM_CACHE or ~/.cache/lmam"
    ),
    batch_size: int = typer.Option(TEXT_BATCH, help="texts per forward pass (larger on a GPU)"),
    encoder: str = typer.Option(
        "minilm",
        help="the sentence encoder: " + "; ".join(f"{k}: {v}" for k, v in ENCODERS.items()),
    ),
    labels: str = typer.Option("emotion", help="MELD only: emotion or sentiment"),
    fine_tune: bool = typer.Option(
        False,
        "--fine-tune",
        help="fine-tune the encoder on the training labels first (epoch chosen on validation)",
    ),
    fine_tune_epochs: int = typer.Option(4, help="fine-tuning epochs"),
    fine_tune_lr: float = typer.Option(2e-5, help="the encoder's fine-tuning learning rate"),
    fine_tune_seed: int = typer.Option(0, help="fine-tuning seed"),
    fine_tune_context: int = typer.Option(
        0, help="earlier utterances the fine-tuned encoder reads with each (0: none)"
    ),
    fine_tune_folds: int = typer.Option(
        0,
        help="cross-fitting: embed each training dialogue by an encoder fine-tuned on the "
        "other folds (0: none, else 2 or more)",
    ),
    threads: int | None = typer.Option(None, help="torch threads (default: torch's)"),
    add: bool = typer.Option(
        False, help="add the text features to the dataset already at --out (same conversations)"
    ),
    mkdir: bool = typer.Option(False, help=MKDIR_HELP),
) -> None:
    """Sentence embeddings (384-d; mpnet 768-d) of every utterance of a transcript source."""
    console = log_console()
    if out is not None:
        check_output(out, "--out", [name, path], mkdir)
    check_encoder(encoder, "--encoder", fine_tune)
    if threads is not None:
        if threads < 1:
            raise OptionError(f"--threads must be a positive integer, got {threads}")
        torch.set_num_threads(threads)
    tuning = asked_fine_tuning(
        fine_tune,
        fine_tune_epochs,
        fine_tune_lr,
        fine_tune_seed,
        fine_tune_context,
        fine_tune_folds,
        flags=True,
    )
    if is_conversation_file(name):
        if path is not None:
            raise OptionError(f"a conversation file ({name}) takes no second argument")
        if out is None:
            raise OptionError(
                "--out: give the .npz file to write the features of a conversation file"
            )
        conv = read_conversations(name, check_audio=False)
        start = time.perf_counter()
        ds = cached_text_dataset(
            conv.to_dataset({}),
            f"{Path(name).stem}-text",
            cache=cache,
            batch_size=batch_size,
            fine_tuning=tuning,
            text_encoder=encoder,
        )
        seconds = time.perf_counter() - start
        # each utterance's words too, which Kim's CNN reads (lmam.features.words)
        ds = write_features(maybe_with_words(_as_source(conv, ds)), out, add)
        console.print(
            f"{plural(len(conv.utterances), 'utterance')} embedded in {seconds:.1f} s "
            "(loading the encoder included; a cached file is not embedded again)"
        )
        console.print(escape(f"written to {out}: modalities {', '.join(ds.modalities)}"))
        return
    if name not in NAMES:
        raise OptionError(
            f"unknown feature set {name!r}; choose {' or '.join(NAMES)}, or give a "
            "conversation file (.csv / .jsonl)"
        )
    options: dict[str, object] = {"cache_dir": cache, "batch_size": batch_size}
    if encoder != "minilm":
        options["text_encoder"] = encoder
    if fine_tune:
        options.update(
            fine_tune=True,
            fine_tune_epochs=fine_tune_epochs,
            fine_tune_lr=fine_tune_lr,
            fine_tune_seed=fine_tune_seed,
            fine_tune_context=fine_tune_context,
            fine_tune_folds=fine_tune_folds,
        )
    if name == "meld-text":
        options["labels"] = labels
    start = time.perf_counter()
    ds = create_dataset(name, path, **options)
    seconds = time.perf_counter() - start
    for table in info_tables(ds):
        out_console().print(table)
    if ds.warning:
        console.print(f"warning: {ds.warning}", markup=False)
    tuned = ds.provenance.get("text.fine_tuning")
    if tuned:
        report = json.loads(tuned)
        console.print(
            f"encoder fine-tuned: epoch {report['epoch']} of {len(report['history'])} kept "
            f"(validation weighted F1 {report['valid_weighted_f1']:.4f}), "
            f"{report['seconds']:.0f} s on {report['threads']} thread(s)"
        )
    crossed = ds.provenance.get("text.cross_fitting")
    if crossed:
        folds = json.loads(crossed)["encoders"]
        said = ", ".join(f"{f['valid_weighted_f1']:.4f}" for f in folds)
        spent = sum(f["seconds"] for f in folds)
        console.print(
            f"training features cross-fitted by {len(folds)} encoders (validation weighted "
            f"F1 {said}; {spent:.0f} s of fine-tuning)"
        )
    console.print(escape(f"ready in {seconds:.1f} s; cached under {cache_dir(cache)}"))
    if out is not None:
        console.print(escape(f"written to {save_dataset(ds, out)}"))


def _as_source(conv: ConversationFile, embedded: ConversationDataset) -> ConversationDataset:
    """The embedded dataset named and sourced like the conversation file (for ``--add``)."""
    x = [c.feats["text"] for s in embedded.splits.values() for c in s]
    feats = np.concatenate(x) if x else np.zeros((0, 0), np.float32)
    provenance = {
        k: v for k, v in embedded.provenance.items() if k.startswith(("pipeline.", "text"))
    }
    return with_modality(conv, "text", feats, provenance)


@features_app.command("audio")
def audio(
    file: Path = typer.Argument(
        ..., help="a conversation file (.csv / .jsonl) with an audio column"
    ),
    feature_set: str = typer.Option(
        "eGeMAPSv02", "--set", help=f"openSMILE feature set: {', '.join(FEATURE_SETS)}"
    ),
    out: Path = typer.Option(..., help="the lmam dataset file (.npz) to write"),
    processes: int = typer.Option(1, help="worker processes"),
    cache: Path | None = typer.Option(
        None, "--cache-dir", help="default: $LMAM_AUDIO_CACHE or ~/.cache/lmam/audio"
    ),
    add: bool = typer.Option(
        False, help="add the audio features to the dataset already at --out (same conversations)"
    ),
    quiet: bool = typer.Option(False, help="no progress bar"),
    mkdir: bool = typer.Option(False, help=MKDIR_HELP),
) -> None:
    """openSMILE functionals of every utterance's audio (or its start/end segment)."""
    console = log_console()
    check_output(out, "--out", [file], mkdir)
    conv = read_conversations(file)
    feats = extract_audio(conv, feature_set, processes=processes, cache=cache, progress=not quiet)
    ds = write_features(with_modality(conv, "audio", feats.x, feats.provenance()), out, add)
    console.print(
        f"{plural(len(conv.utterances), 'utterance')}, {feats.audio_seconds:.1f} s of audio, "
        f"{feats.x.shape[1]} features ({feature_set}) in {feats.wall_seconds:.2f} s: "
        f"{feats.seconds_per_audio_second:.4f} s per second of audio "
        f"({feats.cached} from the cache under {audio_cache_dir(cache) / feature_set})"
    )
    console.print(escape(f"written to {out}: modalities {', '.join(ds.modalities)}"))
