"""open_dataset: registered names, files and directories in every known layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmam.data import DataError, open_dataset, save_dataset
from lmam.data.lmam_format import differences
from tests.data import erc_fixtures as fx
from tests.data.test_meld_csv import release


def test_registered_name_with_options() -> None:
    ds = open_dataset("synthetic", train=3, valid=2, test=2)
    assert [len(ds.train), len(ds.valid), len(ds.test)] == [3, 2, 2]


def test_registered_name_with_a_path(tmp_path: Path) -> None:
    path = fx.write(tmp_path / "m.pkl", fx.meld_text_audio())
    assert open_dataset("meld-pickle", path=path).modalities == {"text": 6, "audio": 4}


@pytest.mark.parametrize(
    ("build", "layout"),
    [
        (fx.classic_iemocap, "classic 9-tuple"),
        (fx.classic_meld, "classic MELD 10-tuple"),
        (fx.meld_text_audio, "MELD text+audio 9-tuple"),
        (fx.roberta_iemocap, "RoBERTa 12-tuple"),
        (fx.roberta_meld, "RoBERTa MELD 13-tuple"),
        (fx.cosmic_iemocap, "COSMIC IEMOCAP transcripts"),
        (fx.cosmic_meld, "COSMIC MELD transcripts"),
    ],
)
def test_every_pickle_layout_is_detected(tmp_path: Path, build, layout: str) -> None:  # type: ignore[no-untyped-def]
    ds = open_dataset(fx.write(tmp_path / "any_name.pkl", build()))
    assert ds.provenance["layout"].startswith(layout)


def test_directory_with_one_pickle(tmp_path: Path) -> None:
    fx.write(tmp_path / "feats.pkl", fx.classic_iemocap())
    assert open_dataset(tmp_path, seed=1).provenance["layout"].startswith("classic")


def test_meld_csv_directory(tmp_path: Path) -> None:
    ds = open_dataset(release(tmp_path), labels="sentiment")
    assert ds.name == "meld-csv" and ds.num_classes == 3
    with pytest.raises(ValueError, match="does not apply to MELD's CSV release"):
        open_dataset(tmp_path, text="concat")


def test_transcripts_directory(tmp_path: Path) -> None:
    fx.write(tmp_path / "cosmic_meld.pkl", fx.cosmic_meld())
    assert open_dataset(tmp_path).name == "meld-transcripts"


def test_unreadable_directory_points_to_the_known_layouts(tmp_path: Path) -> None:
    from lmam.data.erc_layouts import known_layouts

    (tmp_path / "a.pkl").write_bytes(b"")
    (tmp_path / "b.pkl").write_bytes(b"")
    with pytest.raises(DataError, match="2 pickle files; lmam reads") as info:
        open_dataset(tmp_path)
    # a count and where to see them, not the whole list on one line
    assert f"{len(known_layouts())} known layouts (lmam data layouts lists them)" in str(info.value)
    assert any("IEMOCAP_features.pkl" in layout for layout in known_layouts())


def test_missing_path() -> None:
    with pytest.raises(DataError, match="neither a registered dataset"):
        open_dataset("definitely/not/here.pkl")


def test_lmam_file_round_trip(tmp_path: Path) -> None:
    ds = open_dataset(fx.write(tmp_path / "f.pkl", fx.classic_meld()))
    written = save_dataset(ds, tmp_path / "out.npz")
    back = open_dataset(written)
    assert differences(ds, back) == []
    with pytest.raises(ValueError, match="takes no options"):
        open_dataset(written, labels="emotion")
