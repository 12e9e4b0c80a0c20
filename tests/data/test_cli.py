"""``lmam data list | info | export`` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lmam.cli.data import data_app
from lmam.data import open_dataset
from tests.data import erc_fixtures as fx

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
runner = CliRunner()


def run(*args: str | Path, code: int = 0) -> str:
    result = runner.invoke(data_app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


def test_list_shows_the_readers() -> None:
    out = run("list")
    for name in (
        "iemocap-pickle",
        "meld-pickle",
        "iemocap-transcripts",
        "meld-transcripts",
        "meld-csv",
    ):
        assert name in out


def test_info_on_a_classic_pickle(tmp_path: Path) -> None:
    path = fx.write(tmp_path / "IEMOCAP_features.pkl", fx.classic_iemocap())
    out = run("info", path)
    assert "dataset IEMOCAP_features" in out
    assert "text 6, audio 4, visual 5" in out
    assert "6: happy, sad, neutral, angry, excited, frustrated" in out
    assert "5 frustrated" in out  # label distribution rows
    assert "unrecognised file" in out and "classic 9-tuple" in out
    assert "carved from trainVid" in out


def test_info_on_a_registered_name_with_path_and_options(tmp_path: Path) -> None:
    path = fx.write(tmp_path / "MELD_features_raw.pkl", fx.classic_meld())
    out = run("info", "meld-pickle", "--path", path, "-o", "labels=sentiment", "-o", "seed=2")
    assert "3: neutral, positive, negative" in out
    assert "seed 2" in out


def test_info_prints_the_warning(tmp_path: Path) -> None:
    fx.write(tmp_path / "cosmic_iemocap.pkl", fx.cosmic_iemocap())
    out = run("info", tmp_path)
    assert "warning:" in out and "no features" in out
    assert "none (transcripts only)" in out


def test_unknown_layout_lists_the_known_ones(tmp_path: Path) -> None:
    path = fx.write(tmp_path / "odd.pkl", (1, 2, 3))
    out = run("info", path, code=1)
    assert "error:" in out and "unknown layout: a tuple of 3" in out
    assert "known layouts (lmam data layouts lists them)" in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1  # a count, not a 1,400-character list
    listing = run("layouts")
    assert "[speakers, labels, sentences" in listing  # rich markup must not eat the brackets
    assert "MELD's CSV release" in listing


def test_not_a_pickle_lists_the_known_layouts(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    out = run("info", path, code=1)
    assert "not a pickle but a text file (it begins 'hello')" in out and "known layouts" in out


def test_bad_data_is_one_clear_line(tmp_path: Path) -> None:
    raw = list(fx.classic_iemocap())
    raw[2]["Ses05F_impro01"][0] = 9
    path = fx.write(tmp_path / "bad.pkl", tuple(raw))
    out = run("info", path, code=1)
    assert "dialogue 'Ses05F_impro01'" in out and "field 'videoLabels'" in out
    assert "Traceback" not in out


def test_bad_options(tmp_path: Path) -> None:
    path = fx.write(tmp_path / "x.pkl", fx.roberta_iemocap())
    assert "x.pkl: text must be one of" in run("info", path, "-o", "text=sum", code=2)
    assert "expected KEY=VALUE" in run("info", path, "-o", "text", code=2)
    assert "does not apply" in run("info", path, "-o", "colour=red", code=2)
    assert "neither a registered dataset" in run("info", "no-such-thing", code=1)


def test_export_round_trip(tmp_path: Path) -> None:
    path = fx.write(tmp_path / "feats.pkl", fx.roberta_meld())
    out_file = tmp_path / "meld.npz"
    out = run("export", path, out_file, "-o", "text=concat")
    assert out_file.is_file() and "wrote" in out
    before = open_dataset(path, text="concat")
    after = open_dataset(out_file)
    assert after.modalities == before.modalities == {"text": 32, "audio": 4, "visual": 5}
    assert [c.id for c in after.valid] == [c.id for c in before.valid]
    np.testing.assert_array_equal(after.test[0].feats["text"], before.test[0].feats["text"])
    assert after.provenance["sha256"] == before.provenance["sha256"]
    assert "text 32, audio 4, visual 5" in run("info", out_file)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data directory {SHARED} is absent")
def test_info_on_the_real_transcripts() -> None:
    out = run("info", "iemocap-transcripts", "--path", SHARED / "iemocap")
    for number in ("108", "5163", "12", "647", "31", "1623", "144 (8.9%)", "381 (23.5%)"):
        assert number in out
    out = run("info", SHARED / "meld")
    for number in ("1038", "9989", "114", "1109", "280", "2610", "1256 (48.1%)"):
        assert number in out
