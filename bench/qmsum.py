"""The QMSum meetings in ../shared/corpus/meetings/qmsum/ as a user would upload them: a "Name: words" text transcript,
or a WebVTT file with voice tags (times made up at a speaking pace, the words as recorded).

    python bench/qmsum.py ES2004b --vtt tests/data/meetings/ES2004b.vtt   # writes one meeting as WebVTT
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QMSUM = ROOT.parent / "shared" / "corpus" / "meetings" / "qmsum"
SECONDS_PER_WORD = 0.4  # about 150 words a minute


@dataclass(frozen=True)
class Meeting:
    name: str
    series: str  # AMI, ICSI or committee
    turns: list[dict[str, str]]
    reference_summary: str
    questions: list[dict[str, Any]]  # query, answer, relevant_text_span

    def transcript(self) -> str:
        return "".join(f"{t['speaker']}: {t['content']}\n" for t in self.turns)

    def webvtt(self) -> str:
        cues, at = ["WEBVTT", ""], 0.0
        for turn in self.turns:
            length = max(1.0, len(turn["content"].split()) * SECONDS_PER_WORD)
            cues += [f"{_clock(at)} --> {_clock(at + length)}", f"<v {turn['speaker']}>{turn['content']}</v>", ""]
            at += length
        return "\n".join(cues)

    def relevant_turns(self, question: dict[str, Any]) -> str:
        """The annotated turns a question is about: the ORACLE answer."""
        spans = [(int(a), int(b)) for a, b in question["relevant_text_span"]]
        return " ".join(
            f"{self.turns[i]['speaker']}: {self.turns[i]['content']}" for a, b in spans for i in range(a, b + 1)
        )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{int(seconds % 1 * 1000):03d}"


def _series(name: str) -> str:
    if name.startswith(("ES", "IS")):
        return "AMI"
    if name.startswith(("Bed", "Bmr", "Bro")):
        return "ICSI"
    return "committee"


def load(directory: Path = QMSUM) -> list[Meeting]:
    meetings = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        meetings.append(
            Meeting(
                name=path.stem,
                series=_series(path.stem),
                turns=data["meeting_transcripts"],
                reference_summary=data["general_query_list"][0]["answer"],
                questions=data["specific_query_list"],
            )
        )
    if not meetings:
        raise FileNotFoundError(f"no QMSum meetings in {directory}")
    return meetings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("meeting")
    parser.add_argument("--vtt", type=Path, required=True)
    args = parser.parse_args()
    [meeting] = [m for m in load() if m.name == args.meeting]
    args.vtt.write_text(meeting.webvtt())


if __name__ == "__main__":
    main()
