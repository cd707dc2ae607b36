"""Quality of the local provider on the hand-annotated gold set (tests/data/gold, plus ../shared/eval when present).

Prints and writes bench/results/analysis_quality.json: precision, recall and F1 for action items and risks
per split, ROUGE-L F1 for the MEDIUM summary where a reference exists, and the time to analyse a
~10-page document. Target (issue 5): F1 >= 0.80 on action items and on risks.

Matching: a predicted item matches an annotated one when their content words overlap enough (Dice >= 0.5
on lower-cased words of 3+ letters, stop words out), and, where the annotation states them, the owner's
first name and the due date agree. Each annotation matches at most one prediction. Risks also report
severity accuracy over matched pairs.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "gen")]

from services.analysis.local import (  # noqa: E402 - after the path set-up above
    SummaryLength,
    detect_document_date,
    extract_action_items,
    extract_risks,
    summarize,
)

ROOT = Path(__file__).resolve().parent.parent
GOLD_DIRS = [ROOT / "tests" / "data" / "gold", ROOT.parent / "shared" / "eval"]
RESULTS = Path(__file__).resolve().parent / "results" / "analysis_quality.json"
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "will",
        "into",
        "before",
        "after",
        "within",
        "their",
        "our",
        "are",
        "was",
        "were",
    ]
)


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]{3,}", text.lower()) if w not in _STOP}


def dice(a: str, b: str) -> float:
    x, y = words(a), words(b)
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0


def owner_matches(gold: str | None, predicted: str | None) -> bool:
    if not gold:
        return True
    return bool(predicted) and gold.split()[0].lower() == (predicted or "").split()[0].lower()


def match(gold: list[dict[str, Any]], predicted: list[dict[str, Any]], text_key: str) -> list[tuple[int, int]]:
    pairs, used = [], set()
    for g_index, g in enumerate(gold):
        best, best_score = None, 0.5
        for p_index, p in enumerate(predicted):
            if p_index in used:
                continue
            score = dice(g[text_key], p[text_key])
            if score < best_score:
                continue
            if text_key == "title":
                if not owner_matches(g.get("owner"), p.get("owner")):
                    continue
                if g.get("due_date") and g["due_date"] != p.get("due_date"):
                    continue
            best, best_score = p_index, score
        if best is not None:
            used.add(best)
            pairs.append((g_index, best))
    return pairs


def rouge_l(reference: str, candidate: str) -> float:
    r, c = reference.lower().split(), candidate.lower().split()
    if not r or not c:
        return 0.0
    table = [[0] * (len(c) + 1) for _ in range(len(r) + 1)]
    for i in range(len(r)):
        for j in range(len(c)):
            table[i + 1][j + 1] = table[i][j] + 1 if r[i] == c[j] else max(table[i][j + 1], table[i + 1][j])
    lcs = table[-1][-1]
    precision, recall = lcs / len(c), lcs / len(r)
    return 0.0 if lcs == 0 else 2 * precision * recall / (precision + recall)


def prf(tp: int, predicted: int, gold: int) -> dict[str, float]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def documents() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for folder in GOLD_DIRS:
        if not folder.is_dir():
            continue
        for annotation in sorted(folder.glob("*.json")):
            text_files = [p for p in folder.glob(annotation.stem + ".*") if p.suffix in (".txt", ".md")]
            if text_files:
                found.append((text_files[0], json.loads(annotation.read_text())))
    return found


def evaluate() -> dict[str, Any]:
    totals: dict[str, dict[str, int]] = {}
    severity_hits = severity_pairs = 0
    rouge: list[float] = []
    per_document = []
    for path, gold in documents():
        text = path.read_text()
        stated = gold.get("document_date")
        document_date = date.fromisoformat(stated) if stated else detect_document_date(text)
        items = [
            {"title": a.title, "owner": a.owner, "due_date": a.due_date.isoformat() if a.due_date else None}
            for a in extract_action_items(text, document_date=document_date)
        ]
        risks = [{"description": r.description, "severity": r.severity} for r in extract_risks(text)]
        item_pairs = match(gold["action_items"], items, "title")
        risk_pairs = match(gold["risks"], risks, "description")
        severity_pairs += len(risk_pairs)
        severity_hits += sum(gold["risks"][g]["severity"] == risks[p]["severity"] for g, p in risk_pairs)
        for split in (gold.get("split", "dev"), "all"):
            t = totals.setdefault(split, dict.fromkeys(("a_tp", "a_pred", "a_gold", "r_tp", "r_pred", "r_gold"), 0))
            t["a_tp"] += len(item_pairs)
            t["a_pred"] += len(items)
            t["a_gold"] += len(gold["action_items"])
            t["r_tp"] += len(risk_pairs)
            t["r_pred"] += len(risks)
            t["r_gold"] += len(gold["risks"])
        if gold.get("summary_reference"):
            rouge.append(rouge_l(gold["summary_reference"], summarize(text, SummaryLength.MEDIUM)))
        per_document.append(
            {
                "document": path.name,
                "action_items": f"{len(item_pairs)}/{len(gold['action_items'])} of {len(items)}",
                "risks": f"{len(risk_pairs)}/{len(gold['risks'])} of {len(risks)}",
            }
        )
    return {
        "splits": {
            split: {
                "action_items": prf(t["a_tp"], t["a_pred"], t["a_gold"]),
                "risks": prf(t["r_tp"], t["r_pred"], t["r_gold"]),
            }
            for split, t in totals.items()
        },
        "risk_severity_accuracy": round(severity_hits / severity_pairs, 3) if severity_pairs else None,
        "summary_medium_rouge_l_f1": round(sum(rouge) / len(rouge), 3) if rouge else None,
        "documents": per_document,
    }


def ten_page_timing() -> dict[str, float]:
    """Full local analysis (three summaries, action items, risks) of a ~5,000-word document."""
    corpus = "\n\n".join(path.read_text() for path, _ in documents())
    text = corpus
    while len(text.split()) < 5000:
        text += "\n\n" + corpus
    started = time.perf_counter()
    for length in SummaryLength:
        summarize(text, length)
    extract_action_items(text, document_date=detect_document_date(text))
    extract_risks(text)
    return {"words": len(text.split()), "seconds": round(time.perf_counter() - started, 3), "target_seconds": 2.0}


def main() -> None:
    result = {
        "benchmark": "analysis_quality",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **evaluate(),
        "ten_page_analysis": ten_page_timing(),
        "target_f1": 0.8,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
