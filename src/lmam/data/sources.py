"""Where data comes from: published files recognised by sha256, and the data directory.

``recognise(path)`` hashes a file and names it when it is a byte-for-byte copy
of a published file (the canonical feature pickles and every file of the
shared development data, see ``SHA256SUMS`` there). Readers put the result in
``ConversationDataset.provenance``.

``data_root()`` is where registered loaders look when they are given no path:
``$LMAM_DATA`` if set, else ``../shared/data`` relative to the working
directory (the layout used for development), else ``./data``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_CONV_EMOTION = "declare-lab/conv-emotion, COSMIC feature-extraction (MIT)"
_BCLSTM = "declare-lab/contextual-utterance-level-multimodal-sentiment-analysis (bc-LSTM)"
_MFN = "pliang279/MFN (MIT)"


def _mfn(corpus: str, digests: dict[str, str]) -> dict[str, str]:
    return {d: f"{corpus}/{name} of {_MFN}" for name, d in digests.items()}


KNOWN_FILES: dict[str, str] = {
    "18915267dfbb6fa8812c42757b148b143fab35e3fa525c0997763635825eefac": (
        "IEMOCAP_features.pkl of DialogueGCN (also used by MMGCN and MM-DFN)"
    ),
    "33e7579ef7061ddaf8f97a4e207f0ddd60e0ba811a95eb095a2f02e50c16a03f": (
        "MELD_features_raw.pkl (classic MELD features, MMGCN / MM-DFN)"
    ),
    "85f15be1fbd8678e0dd443a11ac609615f0e990cc0ca1551fdf86f98b9e6067f": (
        f"iemocap/cosmic_iemocap.pkl of {_CONV_EMOTION}"
    ),
    "22120eea321d8367e592d74fbc4e5310da17e074ab4a9d46ad0a03c61da0f7d0": (
        f"iemocap/cosmic_iemocap_sentences.pkl of {_CONV_EMOTION}"
    ),
    "3713dab8c0b1d3ae4bb40251599fc6aff687cad1c2468e2f4b50554705a260f8": (
        f"meld/cosmic_meld.pkl of {_CONV_EMOTION}; MELD is GPL-3.0"
    ),
    "76c770ab9678c251692816f2f19ae8bda2264b23091d6b9c06df134138d383a0": (
        f"meld/cosmic_meld_sentences.pkl of {_CONV_EMOTION}; MELD is GPL-3.0"
    ),
    "ddd17eeefd3d951d51d4e2ef8a0d132652d8161e1886f71eb7262b7a14bffff6": (
        f"mosi/bclstm/data/audio/audio_test0.csv of {_BCLSTM}"
    ),
    "5435398a54664e7b00304587dc59ae84a438852be033c2a2fba779588624a2a1": (
        f"mosi/bclstm/data/audio/audio_train0.csv of {_BCLSTM}"
    ),
    "a343e22272919d1384c2075dbcdd5fef5aa9f9366b0552a83f7c3147b64b047a": (
        f"mosi/bclstm/data/text/text_test0.csv of {_BCLSTM}"
    ),
    "cc327045db6cc361a08b4037b97bb24de4ddb5efb381468c4835cc4a60674668": (
        f"mosi/bclstm/data/text/text_train0.csv of {_BCLSTM}"
    ),
    "f3b735070bf07ceff7a6ef6c8f4c32757e988de484e35bd6d38b2aecef851a59": (
        f"mosi/bclstm/data/text_test.csv of {_BCLSTM}"
    ),
    "73770b6302ad0f7a51f4eddcae6788efde4d0b6802e09f78249d5b538d1c1d67": (
        f"mosi/bclstm/data/text_train.csv of {_BCLSTM}"
    ),
    "e7689e6d70720addd2a6b316419d245a68839c32b014ff426c406063ee777466": (
        f"mosi/bclstm/data/transcripts.csv of {_BCLSTM}"
    ),
    "cab836253d81100f59d533fa2ff65cd53c486be3ec9fd82203c5e25a7a77265f": (
        f"mosi/bclstm/data/video/video_test0.csv of {_BCLSTM}"
    ),
    "b6efc0413132d627efd06f67f1706830e775e90af9a75696f535c48dbc73f12f": (
        f"mosi/bclstm/data/video/video_train0.csv of {_BCLSTM}"
    ),
    "2093cef26de55e2a943600b711d388d6a1d621ce765d00e1a203ef2c52610978": (
        f"mosi/bclstm/input/audio.pickle of {_BCLSTM}"
    ),
    "5af5525f6c2c70a24c2fb8bda6c67dee37183f6f588955e753f0bd4fd6f9523a": (
        "mosi/labels/OpinionLevelSentiment.csv: the CMU-MOSI label file as committed in "
        "ASA-MOSI/Audio-Sentiment-Analysis"
    ),
    **_mfn(
        "mosi/mfn",
        {
            "y_test.h5": "66aec4997aa4adc23cf56f99597e69e857e339bc5b4bdbe4955fdf7f5f94c84f",
            "y_train.h5": "c276760dc2ac1248b5151542bd3be7db86ee2938eca90e9cf670a478a547e1ea",
            "y_valid.h5": "44bb15f400731d5d0c6955fc8f23ac47d9b0f2cc574a8f21706d97a8a228dc00",
        },
    ),
    **_mfn(
        "mmmo",
        {
            "audio_test.h5": "1d701dc193b3e4404e35b97165fd33af19aff50d193a744488ec4c87ea0d6c44",
            "audio_train.h5": "4c37e59d75bf1fe17baf6d607e4e7eef228b9b16a145f64c9624d2fc8fcb1666",
            "audio_valid.h5": "37b39911ee143d712e36d1fcba5b41400d2b40bef9de3da419de7344486eb8e9",
            "text_test_emb.h5": "8f3bcab7716c482c209c393098fabe6362fa66b58eb9de5ebd4529c2cb53476b",
            "text_valid_emb.h5": "ff332edc367c23495f0a0194fc5a2b83d217565a6a9ab402f98cbbb60bdc3b95",
            "video_test.h5": "d0bfeb4a0ca249ac766b9c426146e4765b783463112e78665231a82c7b02f176",
            "video_train.h5": "2b7d7d442c1ef7aae0c06d19a845baeb5f8685ee844900f30d6cce643da42452",
            "video_valid.h5": "43a44a63e369bca2fc86c54fa42d9b3b30c03657b8f7287bdae60341f4767d8c",
            "y_test.h5": "17a83a344f15fc751bf10a052ade48d0944959052b30f33bc2c5216a31ea59ee",
            "y_train.h5": "872872ba80f2076a2f5287ace2e3cb72dff7abaa01e1906073c1d50a15a84d6e",
            "y_valid.h5": "e164e98d53b01e558af6eb232fdc0ca8660f8bd3e76469ca12bef124688a4c8f",
        },
    ),
    **_mfn(
        "pom",
        {
            "audio_test.h5": "15aa2f0eaa8787e5aec2de28636fb5b0181aeacc1e8f6eec56fce4cdade367ab",
            "audio_train.h5": "a7edb566f5d5026c9ed82222fbdbfc22d506fdd243c4c112f1ecca2f5155eee7",
            "audio_valid.h5": "430b49d06e7fc2a8ea11bf3636cd08df4366df18647acfda39d8014d342fb7cf",
            "video_test.h5": "bd1bd57bf2bf4ad49b2ff03c79a3d13375627d23a531a6bde7b13a0f68f8c0dd",
            "video_train.h5": "936d32765899d8cab2d8c7c84fb5d6b91b249906d3e46ce51aa73c4f5b0d582d",
            "video_valid.h5": "39f8a4aabfe7deb94da001b9ca25ad087ddd155f2786de04a3cacd90a379bb80",
            "y_test.h5": "dec80f328c2e811fb28a04df2ad11495dc00be34a6c439d40b3d1848fe518a18",
            "y_train.h5": "420831e96b21c5fc77194c70c8a76f831fd04d3cc6cadd513e1749c3b325fef5",
            "y_valid.h5": "066fb33cef488591ff999b4c6859c990ff93645003cc795501c70b3ea87ac2ef",
        },
    ),
    **_mfn(
        "youtube",
        {
            "audio_test.h5": "bd489a967e7004d0f803f93311d0ed6fd1c72b5fa33cc6fc33bd275534080931",
            "audio_train.h5": "7517bcd9c1469cdf9151028c640ef3534212d4282bbf1634986ecff28e5306d8",
            "audio_valid.h5": "968a02845c1a12031b00cce6968579dee3f22dc153a0a5ab5b407147c1f65861",
            "text_test_emb.h5": "2092e3c144c3ebb8d5fa5151c69238f5baea2f7bee6469946c6d8d089090d12c",
            "text_valid_emb.h5": "c7b23458dd75ca81be747f78ea5eb6f011d3c9e1ba038e40e4b4b8ccc25272d0",
            "video_test.h5": "c6c868b0a0926506922bf2d51caaa88a85b60f79c8b8efd83084c5a1b5513fa0",
            "video_train.h5": "f59f74f7c23fd2a3cf157d4911e9e35cd8f0869a1e3afff4fff8751cceede639",
            "video_valid.h5": "e2ca4216532e2a60f0ff8fe46ff7db080e5bee03cf9bbd5e171733c8a820599c",
            "y_test.h5": "68707a166762430f3f00c7d4ac179e87e465ac1eaeff2622505587a33c09e5f5",
            "y_train.h5": "693d6a56517b0568878f618e63c86cce121d982a33c610c5cee494301bb6d453",
            "y_valid.h5": "5bc5f12900f3ebc0279f5920ea346a72cabee4fa59ee08f233f514725ab1cec7",
        },
    ),
}


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recognise(path: str | Path) -> dict[str, str]:
    """``{"sha256": ..., "recognised_as": ...}`` for ``path``, ready for a provenance.

    ``recognised_as`` names the published file, or reads
    ``"unrecognised file (sha256 <digest>)"``.
    """
    sha = file_sha256(path)
    name = KNOWN_FILES.get(sha, f"unrecognised file (sha256 {sha})")
    return {"sha256": sha, "recognised_as": name}


def default_data(*parts: str) -> Path:
    """The data of a registered dataset given no path: ``parts`` under :func:`data_root`.

    Raises:
        DataError: it is not there; the message names every place looked and how
            to give the path.
    """
    from lmam.data.errors import DataError

    here = data_root().joinpath(*parts)
    if here.exists():
        return here
    if os.environ.get("LMAM_DATA"):
        looked = f"looked in {here} ($LMAM_DATA)"
    else:
        shared = Path.cwd().parent / "shared" / "data"
        looked = (
            f"looked in {shared.joinpath(*parts)} and {Path.cwd().joinpath('data', *parts)}"
            " ($LMAM_DATA is not set)"
        )
    raise DataError(
        f"no {'/'.join(parts)} data found; {looked}. Give its path with --data-path "
        "(lmam train, lmam data info), or set LMAM_DATA to the folder that holds it"
    )


def data_root() -> Path:
    """The directory registered loaders search when given no path (see module doc)."""
    env = os.environ.get("LMAM_DATA")
    if env:
        return Path(env)
    shared = Path.cwd().parent / "shared" / "data"
    return shared if shared.is_dir() else Path.cwd() / "data"
