"""Open a dataset by registered name or by path, recognising the file format.

For a path, in this order:

1. lmam's own format (``lmam.data.lmam_format``, written by ``lmam data export``);
2. a directory: MELD's CSV release (``train/dev/test_sent_emo.csv``), a
   directory holding ``cosmic_iemocap.pkl`` / ``cosmic_meld.pkl``, or one
   holding exactly one ``.pkl`` file, read as 3.;
3. a file: the ERC pickle layouts (:mod:`lmam.data.erc_pickles`) and the
   COSMIC transcripts (:mod:`lmam.data.transcripts`).

Anything else is a :class:`~lmam.data.errors.DataError` listing the known layouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmam.data.conversation_files import SUFFIXES as CONVERSATION_SUFFIXES
from lmam.data.dataset import ConversationDataset
from lmam.data.erc_layouts import known_layouts_text
from lmam.data.erc_pickles import read_erc_pickle
from lmam.data.errors import DataError
from lmam.data.lmam_format import is_ours, load_dataset
from lmam.data.meld_csv import is_meld_csv_dir, read_meld_csv
from lmam.data.registry import create_dataset, list_datasets
from lmam.data.transcripts import FILES as TRANSCRIPT_FILES
from lmam.data.transcripts import read_transcripts
from lmam.errors import OptionError

PICKLE_OPTIONS = ("labels", "text", "valid_fraction", "seed")
LABEL_OPTIONS = ("labels",)


def open_dataset(name_or_path: str | Path, **options: Any) -> ConversationDataset:
    """The dataset registered as ``name_or_path``, or read from that file or directory.

    Args:
        name_or_path: a registered name (``lmam data list``) or a path.
        options: reader options. For a registered name: ``path`` and the
            loader's own options. For a path: ``labels`` (``"emotion"`` /
            ``"sentiment"``, MELD), and for feature pickles also ``text``
            (RoBERTa layouts), ``valid_fraction`` and ``seed``.

    Raises:
        DataError: no such name or path, an unknown layout (the message lists
            the known ones), or bad data.
        OptionError: an option the reader does not take, or a value it refuses
            (naming the file).
    """
    if isinstance(name_or_path, str) and name_or_path in list_datasets():
        path = options.pop("path", None)
        return create_dataset(name_or_path, path, **options)
    path = Path(name_or_path)
    try:
        return _open_path(path, options)
    except (DataError, OptionError):
        raise
    except ValueError as e:  # a reader refused an option's value
        raise OptionError(f"{path}: {e}") from None


def unknown_dataset(name_or_path: str | Path) -> str | None:
    """Why ``name_or_path`` names no dataset (neither registered nor on disk), or ``None``."""
    if str(name_or_path) in list_datasets() or Path(name_or_path).exists():
        return None
    return _neither()


def _neither() -> str:
    registered = ", ".join(list_datasets())
    return (
        f"neither a registered dataset nor an existing file or directory; registered: {registered}"
    )


def _open_path(path: Path, options: dict[str, Any]) -> ConversationDataset:
    if not path.exists():
        raise DataError(_neither(), file=path)
    if is_ours(path):
        _check_options(options, (), "an lmam dataset file", path)
        return load_dataset(path)
    if path.is_dir():
        return _open_directory(path, options)
    if path.suffix.lower() in CONVERSATION_SUFFIXES:
        raise DataError(
            "a conversation file (transcripts, audio files) has no features yet: build them "
            f"with lmam features text {path} --out feats.npz (and lmam features audio ... "
            "--add), then use feats.npz; lmam data info reads it as it is",
            file=path,
        )
    _check_options(options, PICKLE_OPTIONS, "a feature or transcripts pickle", path)
    try:
        return read_erc_pickle(path, **options)
    except DataError as e:
        if e.problem.startswith(("not a readable pickle", "not a pickle")):
            raise DataError(f"{e.problem}; {known_layouts_text()}", file=path) from None
        raise


def _open_directory(path: Path, options: dict[str, Any]) -> ConversationDataset:
    if is_meld_csv_dir(path):
        _check_options(options, LABEL_OPTIONS, "MELD's CSV release", path)
        return read_meld_csv(path, **options)
    if any((path / name).is_file() for name in TRANSCRIPT_FILES.values()):
        _check_options(options, LABEL_OPTIONS, "COSMIC transcripts", path)
        return read_transcripts(path, **options)
    pickles = sorted(p for p in path.iterdir() if p.suffix in (".pkl", ".pickle") and p.is_file())
    if len(pickles) == 1:
        return _open_path(pickles[0], options)
    found = f"{len(pickles)} pickle files" if pickles else "nothing readable"
    raise DataError(f"a directory with {found}; {known_layouts_text()}", file=path)


def _check_options(
    options: dict[str, Any], allowed: tuple[str, ...], what: str, path: Path
) -> None:
    unknown = [k for k in options if k not in allowed]
    if unknown:
        takes = ", ".join(allowed) if allowed else "no options"
        raise OptionError(
            f"{path}: option {unknown[0]!r} does not apply to {what} (it takes {takes})"
        )
