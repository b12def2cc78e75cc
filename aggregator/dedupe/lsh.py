"""The in-memory candidate index over near-duplicate signatures. Pure; no IO, no clock.

It answers "which indexed entries may be near-duplicates of this signature?" and
nothing more: candidates are verified on the texts by `near.judge`. Row ids in, row
ids out; it neither reads the store nor knows about time windows. Pure Python (the
stdlib `array` and `bisect`): the daemon's processes must not load numpy.

A signature holds 16 keys sampled from the whole text and 8 from its head
(`shingles.sample`): each key is one exact 5-word shingle, so unrelated texts share
almost none, copies share most, and a teaser shares its head keys with its article.
An entry is a candidate when it shares at least `WHOLE_SHARED` whole keys or
`HEAD_SHARED` head keys with the query. No bands: each key is its own bucket, and the
count of shared keys plays the part of the band's rows.

Why not datasketch's `MinHashLSH`: its in-memory storage keeps, per band, a dict from
band bytes to a set of keys, plus a dict from key to its bands; measured ~8 KB per
entry (25 bands, threshold 0.5, 128 permutations), against a budget of 2 KB; and
`MinHash(128).update_batch` takes ~1.5 ms for a 700-word text, ten times the budget of
the signature. Here the keys are spread over 4,096 buckets by their low 12 bits;
a bucket is two `array("I")`: the keys' high bits and the entries' seqs (`seq`
numbers the entries in order of adding). That is 8 bytes per (key, entry) pair, 192
per entry, plus seq -> id and id -> seq in arrays (~21 bytes; no Python object per
entry, which would also fragment the heap of a long-running process). Few buckets,
so their fixed cost is small (65,536 of them took 10 MB in empty arrays); each is
kept sorted by high bits (a key's seqs oldest first), so a lookup is two bisections
and a slice even at ~600 pairs a bucket (100,000 entries), and adding is 24
insertions: a rebuild from stored signatures is one pass.

Buckets shared by very many entries are boilerplate, not stories (every episode of
a show opening with the same line): a lookup reads only the `BUCKET_CAP` most
recently added live entries of a key. Discarded entries leave their pairs behind
until they are a quarter of all, then every bucket is rewritten without them and the
live entries are numbered again, so a long-running index does not grow.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import Counter

from .shingles import signed_words, sketch

WHOLE_SHARED = 5  # whole-text keys an entry must share with the query to be a candidate
HEAD_SHARED = 4  # ...or head keys (teaser <-> full text), when one side is teaser-long:
# at most this share of the other's words. A match by head keys alone can only be a
# teaser (`near.TEASER_RATIO`, 0.7); the slack covers word counts of stored text, which
# differ a little from those of the cleaned text that was signed.
TEASER_SPAN = 0.8
BUCKET_CAP = 64  # entries read per key, most recent first
_LOW_BITS = 12
_LOW_MASK = (1 << _LOW_BITS) - 1
_HEAD_TAG = 1 << 32  # head keys live beside whole keys: value | 2**32 (33-bit keys)


def keys_of(sig: bytes) -> list[int]:
    """The index keys of a signature: whole-text keys, then tagged head keys."""
    whole, head = sketch(sig)
    return [*whole, *(k | _HEAD_TAG for k in head)]


class Index:
    """Near-duplicate candidates by shared sketch keys; entries are ints (row ids).

    `add` of an id already present replaces its signature; a discarded entry is
    never returned again.
    """

    def __init__(self) -> None:
        self._highs: list[array[int] | None] = [None] * (1 << _LOW_BITS)
        self._seqs: list[array[int] | None] = [None] * (1 << _LOW_BITS)
        self._ids = array("q")  # seq -> entry id
        self._live = bytearray()  # seq -> 1 while its entry is indexed
        self._words = array("H")  # seq -> the word count its signature records
        # id -> seq without a Python int per entry: ids added in increasing order (rows
        # by id, as the store adds them) go to two sorted arrays, searched by bisection;
        # an id added out of order, or again, goes to `_late`, which is looked at first.
        self._sorted_ids = array("q")
        self._sorted_seqs = array("I")
        self._late: dict[int, int] = {}
        self._count = 0  # live entries
        self._dead = 0  # pairs of discarded entries still in the buckets

    def __len__(self) -> int:
        return self._count

    def __contains__(self, entry_id: object) -> bool:
        return isinstance(entry_id, int) and self._seq(entry_id) is not None

    def add(self, entry_id: int, sig: bytes) -> None:
        """Index `sig` under `entry_id` (replacing what the id had); ValueError for a
        signature of another version."""
        keys = keys_of(sig)
        self.discard(entry_id)
        seq = len(self._ids)
        if seq > 0xFFFFFFFF:
            raise OverflowError("index full: rebuild it")
        self._ids.append(entry_id)
        self._live.append(1)
        self._words.append(signed_words(sig))
        self._count += 1
        ids = self._sorted_ids
        if not ids or entry_id > ids[-1]:
            ids.append(entry_id)
            self._sorted_seqs.append(seq)
        else:
            self._late[entry_id] = seq
        highs, seqs = self._highs, self._seqs
        for key in keys:
            low = key & _LOW_MASK
            bucket, column = highs[low], seqs[low]
            if bucket is None or column is None:
                bucket = highs[low] = array("I")
                column = seqs[low] = array("I")
            high = key >> _LOW_BITS
            at = bisect_right(bucket, high)  # sorted by high; a key's seqs oldest first
            bucket.insert(at, high)
            column.insert(at, seq)

    def discard(self, entry_id: int) -> None:
        """Forget `entry_id` (nothing happens if it is not indexed)."""
        seq = self._seq(entry_id)
        if seq is None:
            return
        self._live[seq] = 0
        self._late.pop(entry_id, None)
        self._count -= 1
        self._dead += 1
        if self._dead * 4 > self._count + self._dead and self._dead > 1024:
            self._sweep()

    def _seq(self, entry_id: int) -> int | None:
        """The live seq of `entry_id`, or None."""
        seq = self._late.get(entry_id)
        if seq is None:
            ids = self._sorted_ids
            at = bisect_left(ids, entry_id)
            if at == len(ids) or ids[at] != entry_id:
                return None
            seq = self._sorted_seqs[at]
        return seq if self._live[seq] else None

    def candidates(self, sig: bytes) -> set[int]:
        """Entries sharing enough sketch keys with `sig` (the caller verifies them)."""
        whole, head = sketch(sig)
        find = self._find
        by_whole = Counter([s for key in whole for s in find(key)])
        by_head = Counter([s for key in head for s in find(key | _HEAD_TAG)])
        seqs = [s for s, n in by_whole.items() if n >= WHOLE_SHARED]
        if by_head:
            mine, counts = signed_words(sig), self._words
            seqs += [
                s
                for s, n in by_head.items()
                if n >= HEAD_SHARED and min(mine, counts[s]) <= TEASER_SPAN * max(mine, counts[s])
            ]
        ids, live = self._ids, self._live
        return {ids[s] for s in seqs if live[s]}

    # --- storage -------------------------------------------------------------------

    def _find(self, key: int) -> list[int]:
        """The seqs under `key`, at most the `BUCKET_CAP` newest."""
        low = key & _LOW_MASK
        bucket = self._highs[low]
        if bucket is None:
            return []
        high = key >> _LOW_BITS
        start = bisect_left(bucket, high)
        if start == len(bucket) or bucket[start] != high:
            return []
        end = bisect_right(bucket, high, start)
        seqs = self._seqs[low]
        assert seqs is not None
        if end - start <= BUCKET_CAP or not self._dead:
            return seqs[max(start, end - BUCKET_CAP) : end].tolist()
        # A boilerplate key: its newest live entries (discarded ones not yet swept
        # must not take their places).
        found: list[int] = []
        live = self._live
        for at in range(end - 1, start - 1, -1):
            if live[seqs[at]]:
                found.append(seqs[at])
                if len(found) == BUCKET_CAP:
                    break
        return found

    def _sweep(self) -> None:
        """Rewrite every bucket without the pairs of discarded entries, and number
        the live entries again from 0 (in the same order: buckets stay sorted)."""
        live = self._live
        renumbered = array("q", [-1]) * len(live)
        kept_ids, kept_words = array("q"), array("H")
        for seq, entry_id in enumerate(self._ids):
            if live[seq]:
                renumbered[seq] = len(kept_ids)
                kept_ids.append(entry_id)
                kept_words.append(self._words[seq])
        for low, bucket in enumerate(self._highs):
            seqs = self._seqs[low]
            if bucket is None or seqs is None:
                continue
            keep = [i for i, s in enumerate(seqs) if live[s]]
            self._highs[low] = array("I", [bucket[i] for i in keep])
            self._seqs[low] = array("I", [renumbered[seqs[i]] for i in keep])
        sorted_pairs = [
            (entry_id, renumbered[seq])
            for entry_id, seq in zip(self._sorted_ids, self._sorted_seqs, strict=True)
            if live[seq] and entry_id not in self._late
        ]
        self._sorted_ids = array("q", [entry_id for entry_id, _ in sorted_pairs])
        self._sorted_seqs = array("I", [seq for _, seq in sorted_pairs])
        self._late = {entry_id: renumbered[seq] for entry_id, seq in self._late.items()}
        self._ids, self._words = kept_ids, kept_words
        self._live = bytearray(b"\x01") * len(kept_ids)
        self._dead = 0
