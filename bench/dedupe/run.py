"""`make bench-dedupe`: how well and how fast near-duplicate detection merges copies.

Builds the labelled data in memory (`generate.py`), cleans every source's entries the
way the product does (untimed), then runs detection over the items in `seen` order as
the product will: for each item, its signature, a pool of earlier docs seen within the
window (same content hash, same article URL, `Index` candidates), `best_match`, then
the item joins the matched doc's cluster (or starts one) and is indexed. Scores the
merges against the story labels (precision, recall of positive pairs, merges of hard
negatives, per kind), times the detection loop on one core (process time, best of 3),
measures the index's memory (tracemalloc) and rebuild time, and the cost of
`signature()` on ~700-word texts. Prints PASS/FAIL per target; a report, so it exits 0
whatever the figures (1 only if the harness itself breaks).

    python bench/dedupe/run.py [--seed 1] [--scale 4] [--index-entries 100000] [--worst 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import struct
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import Dataset, Item, Pair, generate

from aggregator import urls
from aggregator.clean import CleanRules, clean_entries
from aggregator.dedupe import content_hash
from aggregator.dedupe.hashing import is_dedupable
from aggregator.dedupe.near import (
    Doc,
    Index,
    Match,
    NearSettings,
    best_match,
    judge,
    signature,
)
from aggregator.models import ParsedEntry

PRECISION, RECALL, RATE, BYTES, SIGNATURE_US, REBUILD_S = 0.995, 0.90, 1000.0, 2048, 150, 5.0
SETTINGS = NearSettings()
_identity: Callable[[str | None], str | None] = getattr(
    urls, "story_url", lambda u: urls.canonical_url(u) if u else None
)


# --- the docs ---------------------------------------------------------------------


def docs_of(data: Dataset) -> list[Doc]:
    """Every item cleaned as the product cleans it (one call per source, all its
    entries at once), as the `Doc` detection sees; ids are row numbers in seen order."""
    by_source: dict[str, list[Item]] = defaultdict(list)
    for item in data.items:
        by_source[item.source].append(item)
    cleaned = {}
    for items in by_source.values():
        parsed = [_parsed(item) for item in items]
        out, _ = clean_entries(parsed, CleanRules(), site=items[0].source_title)
        cleaned.update({e.key: e for e in out})
    docs = []
    for row, item in enumerate(data.items):
        entry = cleaned[item.key]
        digest = content_hash(entry.title, entry.text)
        link = _identity(entry.link)
        docs.append(Doc(row, item.source, entry.title, entry.text, link, digest, item.seen))
    return docs


def _parsed(item: Item) -> ParsedEntry:
    return ParsedEntry(
        key=item.key, guid=item.key, link=item.link, title=item.title, content=item.html,
        summary="", author=None, published=item.published, updated=None,
    )  # fmt: skip


# --- detection, as the product runs it --------------------------------------------


@dataclass
class Run:
    """One pass of detection: what each doc matched and the clusters at the end."""

    matches: dict[int, Match] = field(default_factory=dict)
    cluster: dict[int, int] = field(default_factory=dict)
    pools: list[int] = field(default_factory=list)  # pool size per doc
    seconds: float = 0.0


def detect(docs: Sequence[Doc], settings: NearSettings = SETTINGS) -> Run:
    """Detection over `docs` in order; the time covers signature, pool, match, index."""
    run = Run()
    index = Index()
    by_hash: dict[str, list[int]] = defaultdict(list)
    by_link: dict[str, list[int]] = defaultdict(list)
    start = time.process_time()
    for doc in docs:
        assert isinstance(doc.id, int)
        sig = signature(doc.text, settings.min_words)
        ids = set(by_hash.get(doc.content_hash, ())) if is_dedupable(doc.content_hash) else set()
        if doc.link:
            ids.update(by_link.get(doc.link, ()))
        if sig is not None and settings.near:
            ids.update(index.candidates(sig))
        pool = [d for d in (docs[i] for i in ids) if doc.seen - d.seen <= settings.window]
        match = best_match(doc, pool, settings) if pool else None
        if match is not None:
            run.matches[doc.id] = match
            run.cluster[doc.id] = run.cluster[int(match.other.id)]
        else:
            run.cluster[doc.id] = doc.id
        run.pools.append(len(pool))
        if sig is not None:
            index.add(doc.id, sig)
        by_hash[doc.content_hash].append(doc.id)
        if doc.link:
            by_link[doc.link].append(doc.id)
    run.seconds = time.process_time() - start
    return run


# --- scoring ----------------------------------------------------------------------


@dataclass
class Score:
    merges: int = 0
    false: list[tuple[int, Match]] = field(default_factory=list)
    positives: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    negatives: Counter[str] = field(default_factory=Counter)
    merged_negatives: Counter[str] = field(default_factory=Counter)
    missed: list[Pair] = field(default_factory=list)
    wrong_pairs: list[Pair] = field(default_factory=list)
    false_by_kind: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)


def score(data: Dataset, docs: Sequence[Doc], run: Run) -> Score:
    row = {item.key: i for i, item in enumerate(data.items)}
    s = Score(merges=len(run.matches))
    for doc_id, match in run.matches.items():
        s.rules[match.rule] += 1
        item, other = data.items[doc_id], data.items[int(match.other.id)]
        if item.story != other.story:
            s.false.append((doc_id, match))
            s.false_by_kind[f"{item.kind}~{other.kind}"] += 1
    for pair in data.pairs:
        together = run.cluster[row[pair.a]] == run.cluster[row[pair.b]]
        if pair.duplicate:
            s.positives[pair.kind] += 1
            s.found[pair.kind] += together
            if not together:
                s.missed.append(pair)
        else:
            s.negatives[pair.kind] += 1
            s.merged_negatives[pair.kind] += together
            if together:
                s.wrong_pairs.append(pair)
    return s


# --- costs ------------------------------------------------------------------------


def signature_cost(docs: Sequence[Doc]) -> tuple[float, float, int]:
    """(µs per signature, µs per content hash) over texts of 600-800 words; count."""
    texts = [d.text for d in docs if 600 <= len(d.text.split()) <= 800][:400]
    if not texts:
        return 0.0, 0.0, 0
    sig = _best_of(3, lambda: [signature(t) for t in texts])
    digest = _best_of(3, lambda: [content_hash("", t) for t in texts])
    return sig / len(texts) * 1e6, digest / len(texts) * 1e6, len(texts)


def _best_of(n: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def many_signatures(docs: Sequence[Doc], count: int, seed: int) -> list[bytes]:
    """`count` distinct signatures: those of the data, then copies whose keys are XORed
    with random masks (the same layout and key counts, keys as distinct as real ones)."""
    base = [s for s in (signature(d.text) for d in docs) if s is not None]
    rng = random.Random(seed)
    out = list(base[:count])
    while len(out) < count:
        raw = base[len(out) % len(base)]
        n = (len(raw) - 5) // 4
        keys = struct.unpack_from(f"<{n}I", raw, 5)
        masked = [k ^ rng.getrandbits(32) for k in keys]
        out.append(raw[:5] + struct.pack(f"<{n}I", *masked))
    return out


def index_memory(sigs: Sequence[bytes]) -> tuple[float, float]:
    """(bytes per entry once built, peak bytes per entry while building)."""
    tracemalloc.start()
    index = Index()
    for i, sig in enumerate(sigs):
        index.add(i, sig)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / len(sigs), peak / len(sigs)


def rebuild_time(sigs: Sequence[bytes]) -> tuple[float, float]:
    """(seconds to add every signature, as a restart does from stored bytes, and answer
    a first query; µs per query of the full index, over 1,000 of its signatures)."""
    start = time.process_time()
    index = Index()
    for i, sig in enumerate(sigs):
        index.add(i, sig)
    index.candidates(sigs[0])
    rebuild = time.process_time() - start
    queries = sigs[:: max(1, len(sigs) // 1000)][:1000]
    query = _best_of(3, lambda: [index.candidates(q) for q in queries])
    return rebuild, query / len(queries) * 1e6


def candidate_recall(data: Dataset, docs: Sequence[Doc]) -> tuple[int, int]:
    """(positive pairs whose earlier doc the Index alone finds for the later one, such
    pairs where both have a signature): the sketch's recall, without hash or link."""
    index = Index()
    sigs = {d.id: signature(d.text) for d in docs}
    for doc_id, sig in sigs.items():
        if sig is not None:
            index.add(int(doc_id), sig)
    row = {item.key: i for i, item in enumerate(data.items)}
    found = total = 0
    for pair in data.pairs:
        a, b = sorted((row[pair.a], row[pair.b]))
        sig = sigs[b]
        if pair.duplicate and sig is not None and sigs[a] is not None:
            total += 1
            found += a in index.candidates(sig)
    return found, total


# --- report -----------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report_quality(s: Score, run: Run) -> None:
    wrong = len(s.false)
    precision = 1 - wrong / s.merges if s.merges else 1.0
    positives, found = sum(s.positives.values()), sum(s.found.values())
    recall = found / positives if positives else 1.0
    hard = {k: v for k, v in s.merged_negatives.items() if k != "unrelated"}
    print(f"merges {s.merges} by rule {dict(s.rules)}; false merges {wrong}")
    print(f"  {verdict(precision >= PRECISION)} precision {precision:.4f} (target {PRECISION})")
    print(f"  {verdict(recall >= RECALL)} recall {recall:.4f} of {positives} positive pairs")
    print(f"  {verdict(sum(hard.values()) == 0)} hard-negative pairs merged {sum(hard.values())}")
    for kind in sorted(s.positives):
        share = s.found[kind] / s.positives[kind]
        print(f"    recall {kind:14} {share:.3f} of {s.positives[kind]}")
    for kind in sorted(s.negatives):
        print(f"    merged {kind:14} {s.merged_negatives[kind]} of {s.negatives[kind]}")
    for kinds, n in s.false_by_kind.most_common():
        print(f"    false merges {kinds}: {n}")
    print(f"  pool size mean {statistics.fmean(run.pools):.2f}, max {max(run.pools)}")


def report_worst(data: Dataset, docs: Sequence[Doc], s: Score, n: int) -> None:
    row = {item.key: i for i, item in enumerate(data.items)}
    print(f"\nworst false merges ({len(s.false)}):")
    for doc_id, match in sorted(s.false, key=lambda f: -f[1].similarity)[:n]:
        other = int(match.other.id)
        print(f"  {data.items[doc_id].kind} -> {data.items[other].kind}: {match.rule} "
              f"{match.detail}\n    {_head(docs[doc_id])}\n    {_head(docs[other])}")  # fmt: skip
    print(f"\nmisses ({len(s.missed)}):")
    for pair in s.missed[:n]:
        a, b = docs[row[pair.a]], docs[row[pair.b]]
        new, old = (a, b) if a.seen >= b.seen else (b, a)
        print(f"  {pair.kind}: {judge(new, old, [], SETTINGS)}\n    {_head(new)}\n    {_head(old)}")
    print(f"\nmerged negative pairs ({len(s.wrong_pairs)}):")
    for pair in s.wrong_pairs[:n]:
        print(f"  {pair.kind}: {pair.a} ~ {pair.b}")


def _head(doc: Doc, words: int = 14) -> str:
    return f"[{len(doc.text.split())} w, {doc.source}] " + " ".join(doc.text.split()[:words])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--index-entries", type=int, default=100_000)
    ap.add_argument("--worst", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data = generate(seed=args.seed, scale=args.scale)
    docs = docs_of(data)
    print(f"{len(docs)} items, {len(data.pairs)} pairs (seed {args.seed}, scale {args.scale});"
          f" generated and cleaned in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    runs = [detect(docs) for _ in range(3)]
    run = runs[-1]
    s = score(data, docs, run)
    report_quality(s, run)
    rate = len(docs) / min(r.seconds for r in runs)
    print(f"  {verdict(rate >= RATE)} {rate:,.0f} entries/s on one core (best of 3, process time)")

    sig_us, hash_us, n = signature_cost(docs)
    print(f"  {verdict(sig_us <= SIGNATURE_US)} signature() {sig_us:.0f} µs per ~700-word text "
          f"({n} texts; content_hash() takes {hash_us:.0f} µs on the same texts)")  # fmt: skip
    sigs = many_signatures(docs, args.index_entries, args.seed)
    per_entry, peak = index_memory(sigs)
    print(f"  {verdict(per_entry <= BYTES)} index {per_entry:,.0f} bytes per entry over "
          f"{len(sigs):,} entries (peak while building {peak:,.0f}; data signatures, then "
          "copies with XOR-masked keys)")  # fmt: skip
    rebuild, query_us = rebuild_time(sigs[:100_000])
    print(f"  {verdict(rebuild < REBUILD_S)} rebuild of {min(len(sigs), 100_000):,} "
          f"signatures {rebuild:.2f} s; a query of that index {query_us:.0f} µs")  # fmt: skip
    found, total = candidate_recall(data, docs)
    print(f"  (index alone finds {found} of {total} signed positive pairs: "
          f"{found / max(1, total):.4f})")  # fmt: skip
    if args.worst:
        report_worst(data, docs, s, args.worst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
