"""Feature extraction speed on raw conversations: text and every openSMILE set.

Text: utterances per second of the sentence encoder (all-MiniLM-L6-v2) on the
utterances of a generated conversation file (model load excluded). Audio:
seconds of audio per wall-clock second for each openSMILE feature set, over
generated WAV files (one 0.6-1.2 s utterance each), cache disabled (a fresh
cache directory), in one process and in ``--processes`` worker processes
(pool start-up included).

    python -m bench.features [--utterances 96] [--processes 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.features.conversation_fixtures import write_conversations

from bench.common import environment, print_table, write_json
from lmam.data.conversation_files import read_conversations
from lmam.features.audio import FEATURE_SETS, extract_audio
from lmam.features.text import embed_texts, load_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=96, help="multiple of 8")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        talk = write_conversations(Path(tmp), dialogues=args.utterances // 8, turns=8)
        conv = read_conversations(talk)
        texts = [u.text for u in conv.utterances] * 10
        encoder = load_encoder(device="cpu")
        embed_texts(texts[:32], encoder, progress=False)  # warm-up
        start = time.perf_counter()
        embed_texts(texts, encoder, progress=False)
        rate = len(texts) / (time.perf_counter() - start)
        results["text"] = {"encoder": encoder.name, "utterances_per_second": rate}
        rows.append(["text", encoder.name, f"{rate:.0f} utterances/s", "-"])
        for name in FEATURE_SETS:
            speeds = []
            for processes in (1, args.processes):
                cache = Path(tmp) / f"cache-{name}-{processes}"
                feats = extract_audio(conv, name, processes=processes, cache=cache, progress=False)
                speeds.append(feats.audio_seconds / feats.wall_seconds)
            results[name] = {
                "features": int(feats.x.shape[1]),
                "audio_seconds": feats.audio_seconds,
                "audio_seconds_per_second": {"1": speeds[0], str(args.processes): speeds[1]},
            }
            rows.append([name, str(feats.x.shape[1]), f"{speeds[0]:.1f}", f"{speeds[1]:.1f}"])
    print_table(
        f"feature extraction ({args.utterances} utterances)",
        ["modality / set", "width or model", "s audio per s (1 process)",
         f"s audio per s ({args.processes} processes)"],
        rows,
    )  # fmt: skip
    write_json("features", {"environment": environment(), "results": results, "args": vars(args)})


if __name__ == "__main__":
    main()
