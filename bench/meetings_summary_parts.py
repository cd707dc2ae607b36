"""Which parts of a DETAILED meeting summary carry its ROUGE-1, and how far sentence choice alone could go.

bench/meetings_quality.py scores the DETAILED summary of each QMSum meeting (../shared/corpus/meetings/qmsum) against
its reference, beside LEAD (target: 2x LEAD). This script asks why it stops where it does, without the stack: the
local summarizer runs in-process on the same "Name: words" transcript, and each section of its DETAILED summary is
scored alone and left out, beside the whole summary, the MEDIUM one, the summary without speaker names, and LEAD,
all in the same run. Precision and recall are shown apart: a summary longer than its reference loses precision.

Usage: python bench/meetings_summary_parts.py      Writes bench/results/meetings_summary_parts.json.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

from bench import qmsum  # noqa: E402 - after the path set-up above
from services.analysis.local.drafts import SummaryLength  # noqa: E402
from services.analysis.local.meetings import summarize_meeting  # noqa: E402
from services.common.embeddings import LocalEmbedder  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "meetings_summary_parts.json"
SECTIONS = ("Overview", "Discussion", "Decisions", "Risks", "Action items", "Open questions")


def sections(summary: str) -> dict[str, str]:
    """The summary's "## " sections by title."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in summary.splitlines():
        if line.startswith("## "):
            current = found.setdefault(line[3:].strip(), [])
        elif current is not None:
            current.append(line)
    return {title: "\n".join(lines) for title, lines in found.items()}


def without_speakers(summary: str) -> str:
    """The summary with its headings, "Name: " prefixes and "(raised by Name)" attributions removed."""
    summary = re.sub(r"^(- )?[A-Z][^:\n]{0,40}: ", r"\1", summary, flags=re.M)
    summary = re.sub(r" \(raised by [^)]*\)", "", summary)
    return re.sub(r"^#+ .*$", "", summary, flags=re.M)


def _only(title: str) -> Callable[[str, str, str], str]:
    return lambda detailed, medium, lead: sections(detailed).get(title, "")


def _without(title: str) -> Callable[[str, str, str], str]:
    return lambda detailed, medium, lead: "\n".join(t for name, t in sections(detailed).items() if name != title)


def variants() -> dict[str, Callable[[str, str, str], str]]:
    """Each variant's text from (detailed, medium, lead)."""
    made: dict[str, Callable[[str, str, str], str]] = {
        "detailed": lambda d, m, lead: d,
        "medium": lambda d, m, lead: m,
        "detailed without speakers": lambda d, m, lead: without_speakers(d),
        "lead": lambda d, m, lead: lead,
    }
    for title in SECTIONS:
        made[f"only {title}"] = _only(title)
        made[f"without {title}"] = _without(title)
    return made


def main() -> None:
    from rouge_score import rouge_scorer

    rouge = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    embedder = LocalEmbedder()
    scores: dict[str, list[Any]] = {name: [] for name in variants()}
    started = time.perf_counter()
    for meeting in qmsum.load():
        text = meeting.transcript()
        detailed = summarize_meeting(text, SummaryLength.DETAILED, embed=embedder.encode) or ""
        medium = summarize_meeting(text, SummaryLength.MEDIUM, embed=embedder.encode) or ""
        reference = meeting.reference_summary
        lead = " ".join(text.split()[: len(reference.split())])
        for name, make in variants().items():
            scores[name].append(rouge.score(reference, make(detailed, medium, lead))["rouge1"])
    rows = {
        name: {
            "rouge1_f": round(statistics.fmean(s.fmeasure for s in found), 4),
            "precision": round(statistics.fmean(s.precision for s in found), 4),
            "recall": round(statistics.fmean(s.recall for s in found), 4),
        }
        for name, found in scores.items()
    }
    for name, row in rows.items():
        print(f"{name:28} R1 {row['rouge1_f']:.3f}  P {row['precision']:.3f}  R {row['recall']:.3f}")
    result = {
        "benchmark": "meetings_summary_parts",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "meetings": len(scores["detailed"]),
        "seconds": round(time.perf_counter() - started, 1),
        "rouge1": rows,
        "two_times_lead": round(2 * rows["lead"]["rouge1_f"], 4),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
