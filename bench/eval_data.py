"""Retrieval test collections for bench/search_quality.py, all read into one shape.

A collection is (corpus, queries, qrels): corpus maps a document id to its text, queries maps a query id to its text
(only judged queries are kept), and qrels maps a query id to {document id: graded relevance}, where 0 or less means
not relevant. Two on-disk layouts are read:

- BEIR: corpus.jsonl, queries.jsonl and qrels/test.tsv (the layout of ../shared/eval/).
- SMART, the layout of the classic collections (Cranfield, CISI, MEDLINE, CACM, ...): one file of documents and one
  of queries in `.I id` / `.T` / `.W` ... records, and one judgment file of whitespace-separated lines.

No loader downloads anything: the files must already be on disk.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

Corpus = dict[str, str]
Queries = dict[str, str]
Qrels = dict[str, dict[str, int]]
Collection = tuple[Corpus, Queries, Qrels]

# SMART file names as the classic collections ship them: (documents, queries, judgments), matched case-insensitively.
SMART_LAYOUTS = (
    ("cran.all.1400", "cran.qry", "cranqrel"),
    ("cisi.all", "cisi.qry", "cisi.rel"),
    ("med.all", "med.qry", "med.rel"),
    ("cacm.all", "query.text", "qrels.text"),
    ("cisi.all", "query.text", "qrels.text"),
)
# Fields that hold text worth indexing; the others (.A authors, .B bibliography, .X citations, ...) are metadata.
TEXT_FIELDS = {"T", "W"}
RECORD = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


def load(path: Path) -> Collection:
    """Read the collection in `path`, whichever layout it has."""
    if (path / "corpus.jsonl").exists():
        return load_beir(path)
    layout = smart_layout(path)
    if layout is not None:
        return load_smart(*layout)
    raise FileNotFoundError(
        f"no test collection in {path}: expected corpus.jsonl, queries.jsonl and qrels/test.tsv (BEIR layout), "
        f"or one of the SMART file sets {[', '.join(names) for names in SMART_LAYOUTS]}"
    )


def load_beir(directory: Path) -> Collection:
    corpus: Corpus = {}
    with open(directory / "corpus.jsonl") as handle:
        for line in handle:
            row = json.loads(line)
            corpus[str(row["_id"])] = (str(row.get("title") or "") + "\n" + str(row["text"])).strip()
    queries: Queries = {}
    with open(directory / "queries.jsonl") as handle:
        for line in handle:
            row = json.loads(line)
            queries[str(row["_id"])] = str(row["text"])
    qrels: Qrels = {}
    with open(directory / "qrels" / "test.tsv") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    return judged(corpus, queries, qrels)


def smart_layout(directory: Path) -> tuple[Path, Path, Path] | None:
    if not directory.is_dir():
        return None
    files = {child.name.lower(): child for child in directory.iterdir() if child.is_file()}
    for names in SMART_LAYOUTS:
        if all(name in files for name in names):
            return files[names[0]], files[names[1]], files[names[2]]
    return None


def read_smart(path: Path) -> dict[str, str]:
    """`.I id` records; the text of their .T and .W fields, in order."""
    records: dict[str, list[str]] = {}
    current: list[str] | None = None
    keep = False
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = RECORD.match(line.rstrip("\n"))
            if match:
                field, rest = match.groups()
                if field == "I":
                    current = records.setdefault(str(int(rest.split()[0])), [])
                    keep = False
                    continue
                keep = field in TEXT_FIELDS
                if keep and rest and current is not None:
                    current.append(rest.strip())
            elif keep and current is not None:
                current.append(line.strip())
    return {key: " ".join(part for part in parts if part) for key, parts in records.items()}


def load_smart(documents: Path, query_file: Path, judgments: Path) -> Collection:
    corpus = read_smart(documents)
    queries = read_smart(query_file)
    rows = [line.split() for line in judgments.read_text(encoding="utf-8", errors="replace").splitlines()]
    rows = [row for row in rows if len(row) >= 2]
    # MEDLINE writes TREC order (query 0 document grade); the others write query, document[, grade ...].
    trec = all(len(row) == 4 and row[1] == "0" for row in rows) and any(row[2] != "0" for row in rows)
    qrels: Qrels = {}
    for row in rows:
        query_id, doc_id = str(int(row[0])), str(int(row[2] if trec else row[1]))
        qrels.setdefault(query_id, {})[doc_id] = grade(documents, row[3] if trec else (row[2] if len(row) > 2 else "1"))
    # Cranfield numbers its judgments by the queries' position (1..225), not by their .I ids (1, 2, 4, 8, ...).
    positions = {str(position) for position in range(1, len(queries) + 1)}
    if set(queries) != positions and set(qrels) <= positions:
        queries = {str(position): text for position, text in enumerate(queries.values(), start=1)}
    return judged(corpus, queries, qrels)


def grade(documents: Path, value: str) -> int:
    """Relevance as a gain, higher is better, 0 or less for not relevant."""
    number = int(float(value))
    if documents.name.lower().startswith("cran"):
        # Cranfield grades 1 (complete answer) .. 4 (minimum interest), -1 (no interest); as gains 4 .. 1, 0.
        return 5 - number if 1 <= number <= 4 else 0
    # CISI and CACM write a placeholder 0 in that column: every listed pair is relevant.
    return max(number, 1)


def judged(corpus: Corpus, queries: Queries, qrels: Qrels) -> Collection:
    """Keep the queries with at least one relevant document in the corpus, and their judgments."""
    kept: Qrels = {}
    for query_id, grades in qrels.items():
        grades = {doc: g for doc, g in grades.items() if doc in corpus}
        if query_id in queries and any(g > 0 for g in grades.values()):
            kept[query_id] = grades
    return corpus, {q: queries[q] for q in kept}, kept
