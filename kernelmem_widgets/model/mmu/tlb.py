"""A data TLB: a first-level dTLB per page size and a second-level (shared) TLB, LRU in each set.

An access looks up the first-level array that holds its page size; on a miss the second-level
array for that size (if the CPU has one): a hit there refills the first level, a miss is a page
walk that fills both.  Each array is set-associative: ``entries / ways`` sets (a power of two),
the set picked by the low bits of the virtual page number, least recently used way replaced.
A shared array (Skylake's 1536-entry STLB for 4 KiB and 2 MiB) tags each entry with its size.

Simulation is vectorised: runs of accesses to one page collapse to one lookup (the rest are
first-level hits, nothing can evict the entry in between); each array then decides every lookup
at once by reuse distance (:meth:`_ArrayState.play`: a lookup hits iff fewer than ``ways`` other
distinct pages of its set were used since its page's last use), which gives exactly the hits of
the plain access-by-access LRU simulation kept as the test oracle (``Tlb(engine="reference")``).
The ways an entry sits in are the model's choice (kept entries stay where they were, new ones
take the free ways newest first); which entries each set holds is the LRU's.

Presets (data TLB only; the instruction TLB is not modelled), from the Intel 64 and IA-32
Architectures Optimization Reference Manual (248966): Skylake (Table 2-15 of revision 045,
February 2022: DTLB 4 KiB 64 entries 4-way, 2/4 MiB 32 entries 4-way, 1 GiB 4 entries 4-way; STLB
4 KiB + 2 MiB 1536 entries 12-way, 1 GiB 16 entries 4-way) and Haswell (DTLB as Skylake; STLB
4 KiB + 2 MiB 1024 entries 8-way, no 1 GiB entries); and a tiny teaching TLB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnknownPreset
from ..units import format_size
from .mmu_errors import BadTlbGeometry

__all__ = ["TlbArray", "TlbPreset", "TLB_PRESETS", "get_tlb_preset", "Tlb", "TlbStats", "KiB4", "MiB2", "GiB1"]

KiB4, MiB2, GiB1 = 4096, 2 << 20, 1 << 30
_SIZE_CODE = {KiB4: 0, MiB2: 1, GiB1: 2, 4 << 20: 3}


@dataclass(frozen=True)
class TlbArray:
    """One set-associative array: how many entries, how many ways, which page sizes it holds."""

    name: str
    entries: int
    ways: int
    page_sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        for what, value in (("entries", self.entries), ("ways", self.ways)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise BadTlbGeometry(f"TLB array {self.name}: {what}={value!r} must be a positive integer")
        sets, rest = divmod(self.entries, self.ways)
        if rest or sets & (sets - 1):
            raise BadTlbGeometry(f"TLB array {self.name}: {self.entries} entries / {self.ways} ways is not a "
                                 f"power-of-two number of sets (the set index is a bit field of the page number)")
        if not self.page_sizes or any(size not in _SIZE_CODE for size in self.page_sizes):
            raise BadTlbGeometry(f"TLB array {self.name}: page sizes {self.page_sizes!r}; accepted: 4096, 2 MiB, 1 GiB")

    @property
    def sets(self) -> int:
        return self.entries // self.ways

    def reach(self, page_size: int) -> int:
        """Bytes this array can translate at once with pages of ``page_size``."""
        return self.entries * page_size if page_size in self.page_sizes else 0

    def __str__(self) -> str:
        sizes = "+".join(format_size(size) for size in self.page_sizes)
        return f"{self.name}: {sizes}, {self.entries} entries, {self.ways}-way ({self.sets} sets)"


@dataclass(frozen=True)
class TlbPreset:
    name: str
    l1: tuple[TlbArray, ...]
    l2: tuple[TlbArray, ...]
    source: str

    def reach(self, page_size: int) -> dict[str, int]:
        """TLB reach per level for one page size: entries that can hold it times the size."""
        return {"L1": sum(a.reach(page_size) for a in self.l1), "L2": sum(a.reach(page_size) for a in self.l2)}


_SKL_SOURCE = ("Intel 64 and IA-32 Architectures Optimization Reference Manual 248966-045 (Feb 2022), "
               "Table 2-15, TLB parameters of the Skylake microarchitecture")
TLB_PRESETS: dict[str, TlbPreset] = {
    "skylake": TlbPreset("skylake",
                         (TlbArray("dTLB 4K", 64, 4, (KiB4,)), TlbArray("dTLB 2M", 32, 4, (MiB2,)),
                          TlbArray("dTLB 1G", 4, 4, (GiB1,))),
                         (TlbArray("STLB 4K+2M", 1536, 12, (KiB4, MiB2)), TlbArray("STLB 1G", 16, 4, (GiB1,))),
                         _SKL_SOURCE),
    "haswell": TlbPreset("haswell",
                         (TlbArray("dTLB 4K", 64, 4, (KiB4,)), TlbArray("dTLB 2M", 32, 4, (MiB2,)),
                          TlbArray("dTLB 1G", 4, 4, (GiB1,))),
                         (TlbArray("STLB 4K+2M", 1024, 8, (KiB4, MiB2)),),
                         "Intel 64 and IA-32 Architectures Optimization Reference Manual 248966, TLB parameters "
                         "of the Haswell microarchitecture (STLB shared by 4 KiB and 2 MiB pages, none for 1 GiB)"),
    "teaching": TlbPreset("teaching",
                          (TlbArray("dTLB 4K", 4, 2, (KiB4,)), TlbArray("dTLB 2M", 2, 2, (MiB2,))),
                          (TlbArray("STLB 4K+2M", 16, 4, (KiB4, MiB2)),),
                          "a made-up TLB small enough to follow by hand: 2 sets of 2 ways for 4 KiB pages"),
}


def get_tlb_preset(name: str | TlbPreset) -> TlbPreset:
    if isinstance(name, TlbPreset):
        return name
    try:
        return TLB_PRESETS[name]
    except (KeyError, TypeError):
        raise UnknownPreset(f"unknown TLB preset {name!r}; accepted: {', '.join(TLB_PRESETS)}") from None


@dataclass(frozen=True)
class TlbStats:
    """What a stream did: hits per level, page walks and their memory references."""

    accesses: int
    l1_hits: int
    l2_hits: int
    walks: int
    walk_references: int
    faults: int

    @property
    def misses(self) -> int:
        return self.walks

    def as_dict(self) -> dict[str, int]:
        return {"accesses": self.accesses, "L1 hits": self.l1_hits, "L2 hits": self.l2_hits, "walks": self.walks,
                "walk memory references": self.walk_references, "faults": self.faults}


def _stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")``; as two 16-bit radix passes when the values span < 2**32."""
    low = int(values.min())
    if int(values.max()) - low >= 1 << 32 or len(values) < 4096:
        return np.argsort(values, kind="stable")
    key = (values - low).astype(np.uint32)
    first = np.argsort(key.astype(np.uint16), kind="stable")
    return first[np.argsort((key[first] >> 16).astype(np.uint16), kind="stable")]


class _ArrayState:
    __slots__ = ("spec", "tags", "stamps")

    def __init__(self, spec: TlbArray) -> None:
        self.spec = spec
        self.tags = np.full((spec.sets, spec.ways), -1, dtype=np.int64)
        self.stamps = np.full((spec.sets, spec.ways), -1, dtype=np.int64)

    def set_of(self, tags: np.ndarray) -> np.ndarray:
        return (tags >> 2) & (self.spec.sets - 1)

    def play(self, tags: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Look up ``tags`` in order (``times`` their global clock); update the state; return hits.

        LRU by reuse distance, all sets at once: the entries the array holds are replayed first,
        oldest first (an LRU set is exactly the result of its entries' last uses); the stream is
        sorted by set, keeping time order; an access hits iff its tag was used before in the set
        and fewer than ``ways`` other distinct tags were used in between.  The distinct count is
        only needed up to ``ways``: a position k after the previous use p brings a new tag iff the
        previous use of k's tag is before p; windows of growing width are scanned for every open
        question at once until it has ``ways`` new tags (a miss) or reaches the reuse (a hit).
        """
        n = len(tags)
        if not n:
            return np.zeros(0, dtype=bool)
        nsets, ways = self.spec.sets, self.spec.ways
        valid = self.tags >= 0
        n_old = int(valid.sum())
        if n_old:
            old_order = np.argsort(self.stamps[valid], kind="stable")
            all_tags = np.concatenate((self.tags[valid][old_order], tags))
            old_times = self.stamps[valid][old_order]
        else:
            all_tags, old_times = tags, np.zeros(0, dtype=np.int64)
        total = len(all_tags)
        if nsets <= 1 << 16:        # 16-bit set numbers: small arrays, and argsort's radix sort
            all_sets = (all_tags >> 2).astype(np.uint16)
            all_sets &= np.uint16(nsets - 1)
        else:
            all_sets = self.set_of(all_tags)
        order = np.arange(total) if nsets == 1 else np.argsort(all_sets, kind="stable")
        seq = all_tags[order]
        # previous and next use of the same tag (a tag lives in one set, so both are in its block)
        prev = np.full(total, -1, dtype=np.int32)
        nxt = np.full(total, -1, dtype=np.int32)
        if n == 1 or bool((tags[1:] > tags[:-1]).all()):
            # a stream of distinct increasing pages (sequential): only the held entries recur
            if n_old:
                at = np.minimum(np.searchsorted(tags, all_tags[:n_old]), n - 1)
                again = np.flatnonzero(tags[at] == all_tags[:n_old])
                if len(again):
                    where = np.empty(total, dtype=np.int32)
                    where[order] = np.arange(total, dtype=np.int32)
                    a, b = where[again], where[n_old + at[again]]
                    prev[b] = a
                    nxt[a] = b
        else:
            by_tag = _stable_argsort(seq)
            same = seq[by_tag[1:]] == seq[by_tag[:-1]]
            a, b = by_tag[:-1][same], by_tag[1:][same]
            prev[b] = a
            nxt[a] = b
        hit_at = []                                 # positions in ``seq`` that hit
        recurring = p = np.flatnonzero(nxt >= 0)
        if len(p):
            limit = nxt[p].astype(np.int64)
            near = limit - p - 1 < ways             # fewer accesses in between than ways: a hit
            hit_at.append(limit[near])
            p, limit = p[~near], limit[~near]
            p32, limit = p.astype(np.int32), limit.astype(np.int32)
            k = p32 + 1
            count = np.zeros(len(p), dtype=np.int32)
            step = ways
            while len(p32):
                if len(p32) * step <= 1 << 18:     # a window of ``step`` positions for each at once
                    window = np.minimum(k[:, None] + np.arange(step, dtype=np.int32), limit[:, None])
                    count += (prev[window] < p32[:, None]).sum(axis=1, dtype=np.int32)
                    k = np.minimum(k + step, limit)
                else:
                    for _ in range(step):          # one position further for every open question
                        inside = k < limit
                        count += inside & (prev[k] < p32)
                        k += inside
                missed = count >= ways
                reached = ~missed & (k >= limit)
                hit_at.append(limit[reached])
                more = np.flatnonzero(~(missed | reached))
                p32, limit, k, count = p32[more], limit[more], k[more], count[more]
                step *= 2
        # the state after the stream: per set the ``ways`` most recent distinct tags, found among
        # the last ``ways`` + (recurring positions of the set) positions of each set's block
        block = np.bincount(all_sets, minlength=nsets)
        ends = np.cumsum(block)
        rec = np.bincount(np.searchsorted(ends, recurring, side="right"), minlength=nsets)[:nsets]
        span = np.minimum(block, ways + rec)
        firsts = np.cumsum(span) - span
        cand = np.repeat(ends - span - firsts, span) + np.arange(int(span.sum()))
        cand_sets = np.repeat(np.arange(nsets), span)
        last = nxt[cand] < 0
        cand, cand_sets = cand[last], cand_sets[last]
        counts = np.bincount(cand_sets, minlength=nsets)
        from_end = np.cumsum(counts)[cand_sets] - 1 - np.arange(len(cand))
        keep = cand[from_end < ways]
        source = order[keep]
        keep_tags, keep_sets = seq[keep], all_sets[source]
        keep_times = np.where(source < n_old, old_times[np.minimum(source, max(n_old - 1, 0))] if n_old else 0,
                              times[np.maximum(source - n_old, 0)])
        new_tags = np.full((nsets, ways), -1, dtype=np.int64)
        new_stamps = np.full((nsets, ways), -1, dtype=np.int64)
        fresh = np.ones(len(keep_tags), dtype=bool)
        if n_old:                                  # entries still held stay in their ways
            old_rows, old_ways = np.nonzero(valid)
            old_tags = self.tags[old_rows, old_ways]
            by_old = np.argsort(old_tags)
            at = np.minimum(np.searchsorted(old_tags[by_old], keep_tags), len(old_tags) - 1)
            held = old_tags[by_old][at] == keep_tags
            fresh = ~held
            where = by_old[at[held]]
            new_tags[old_rows[where], old_ways[where]] = keep_tags[held]
            new_stamps[old_rows[where], old_ways[where]] = keep_times[held]
        keep_tags, keep_times, keep_sets = keep_tags[fresh], keep_times[fresh], keep_sets[fresh]
        if len(keep_tags):
            # the newest entry takes the set's first free way, the next newest the second, ...
            free_ways = np.argsort(new_tags >= 0, axis=1, kind="stable")
            per_set = np.bincount(keep_sets, minlength=nsets)
            rank = np.cumsum(per_set)[keep_sets] - 1 - np.arange(len(keep_tags))
            way = free_ways[keep_sets, rank]
            new_tags[keep_sets, way] = keep_tags
            new_stamps[keep_sets, way] = keep_times
        self.tags[:] = new_tags
        self.stamps[:] = new_stamps
        hits = np.zeros(n, dtype=bool)
        if hit_at:
            at = order[np.concatenate(hit_at)] - n_old
            hits[at[at >= 0]] = True
        return hits

    def play_reference(self, tags: np.ndarray, times: np.ndarray) -> np.ndarray:
        """The plain simulation, access by access (the test oracle of :meth:`play`)."""
        hits = np.zeros(len(tags), dtype=bool)
        rows_t, rows_s = self.tags.tolist(), self.stamps.tolist()
        sets = self.set_of(tags)
        for i, (tag, stamp, s) in enumerate(zip(tags.tolist(), times.tolist(), sets.tolist())):
            row_t, row_s = rows_t[s], rows_s[s]
            if tag in row_t:
                hits[i] = True
                row_s[row_t.index(tag)] = stamp
            else:
                way = row_s.index(min(row_s))
                row_t[way], row_s[way] = tag, stamp
        self.tags[:] = rows_t
        self.stamps[:] = rows_s
        return hits

    def flush(self, tags: np.ndarray | None = None) -> None:
        if tags is None:
            self.tags[:] = -1
            self.stamps[:] = -1
        else:
            hit = np.isin(self.tags, tags)
            self.tags[hit] = -1
            self.stamps[hit] = -1

    def contents(self) -> list[tuple[int, int, int]]:
        """(set, way, tag) of every valid entry."""
        s, w = np.nonzero(self.tags >= 0)
        return [(int(a), int(b), int(self.tags[a, b])) for a, b in zip(s, w)]


_SHIFT_BY_CODE = np.array([12, 21, 30, 22], dtype=np.uint64)


def _codes(sizes: np.ndarray) -> np.ndarray:
    """Size code of each page size: 0 for 4 KiB, 1 for 2 MiB, 2 for 1 GiB, 3 for 4 MiB."""
    if not len(sizes) or (sizes == sizes[0]).all():
        return np.full(len(sizes), _SIZE_CODE.get(int(sizes[0]), 0) if len(sizes) else 0, dtype=np.int64)
    return (np.int64(1) * (sizes == MiB2) + 2 * (sizes == GiB1) + 3 * (sizes == 4 << 20)).astype(np.int64)


def _tags(virts: np.ndarray, sizes: np.ndarray, codes: np.ndarray | None = None) -> np.ndarray:
    """Entry tag: virtual page number of the access's page size, with the size in the low 2 bits."""
    codes = _codes(sizes) if codes is None else codes
    return ((virts.astype(np.uint64) >> _SHIFT_BY_CODE[codes]).astype(np.int64) << 2) | codes


class Tlb:
    """One CPU's data TLB, kept between streams until flushed.

    Examples
    --------
    >>> import numpy as np
    >>> tlb = Tlb("teaching")
    >>> pages = np.array([0, 1, 0, 2, 4, 0]) * 4096
    >>> stats = tlb.access(pages, np.full(6, 4096))
    >>> stats.l1_hits, stats.walks
    (1, 4)
    """

    def __init__(self, preset: str | TlbPreset = "skylake", *, engine: str = "vectorised") -> None:
        if engine not in ("vectorised", "reference"):
            raise BadTlbGeometry(f"TLB engine {engine!r}; accepted: 'vectorised' (reuse distances, numpy) or "
                                 "'reference' (the plain LRU loop, the test oracle)")
        self.engine = engine
        self.preset = get_tlb_preset(preset)
        self._l1 = [_ArrayState(spec) for spec in self.preset.l1]
        self._l2 = [_ArrayState(spec) for spec in self.preset.l2]
        self._clock = 0
        self.flushes = {"all": 0, "pages": 0}
        self._route1, self._route2 = self._route_table(self._l1), self._route_table(self._l2)

    @staticmethod
    def _route_table(arrays) -> np.ndarray:
        """Size code -> index of the first array that holds that page size (-1: none)."""
        table = np.full(4, -1, dtype=np.int64)
        for code, size in ((0, KiB4), (1, MiB2), (2, GiB1), (3, 4 << 20)):
            for i, state in enumerate(arrays):
                if size in state.spec.page_sizes:
                    table[code] = i
                    break
        return table

    def access(self, virts, page_sizes, walk_references=None) -> TlbStats:
        """Look up each address in order; ``page_sizes[i]`` is the size of the page mapping it.

        ``page_sizes`` of 0 are unmapped addresses: they walk (a fault follows) and fill nothing.
        ``walk_references[i]`` (default: 4 per walk) is what a walk for that address costs.
        """
        virts = np.asarray(virts, dtype=np.uint64).ravel()
        sizes = np.asarray(page_sizes, dtype=np.int64).ravel()
        if len(sizes) != len(virts):
            raise BadTlbGeometry(f"{len(virts)} addresses but {len(sizes)} page sizes")
        refs = np.full(len(virts), 4, dtype=np.int64) if walk_references is None else \
            np.asarray(walk_references, dtype=np.int64).ravel()
        n = len(virts)
        times = self._clock + np.arange(n, dtype=np.int64)
        self._clock += n
        if n and sizes[0] > 0 and bool((sizes == sizes[0]).all()):
            return self._access_one_size(virts, int(sizes[0]), refs, times)
        mapped = sizes > 0
        codes = _codes(sizes)
        tags = _tags(virts, sizes, codes)
        if not mapped.all():
            tags[~mapped] = -2
        # runs of one page: only the first access of a run can miss
        first = np.ones(n, dtype=bool)
        first[1:] = tags[1:] != tags[:-1]
        first |= ~mapped
        idx = np.flatnonzero(first & mapped)
        l1_hit = np.zeros(n, dtype=bool)
        l1_hit[mapped & ~first] = True
        route1 = self._route1[codes[idx]]
        for i, state in enumerate(self._l1):
            sel = idx[route1 == i]
            l1_hit[sel] = self._play(state, tags[sel], times[sel])
        missed = idx[~l1_hit[idx]]
        l2_hit = np.zeros(n, dtype=bool)
        route2 = self._route2[codes[missed]]
        for i, state in enumerate(self._l2):
            sel = missed[route2 == i]
            l2_hit[sel] = self._play(state, tags[sel], times[sel])
        walks = np.zeros(n, dtype=bool)
        walks[missed] = ~l2_hit[missed]
        walks |= ~mapped
        return TlbStats(accesses=n, l1_hits=int(l1_hit.sum()), l2_hits=int(l2_hit.sum()), walks=int(walks.sum()),
                        walk_references=int(refs[walks].sum()), faults=int((~mapped).sum()))

    def _access_one_size(self, virts: np.ndarray, size: int, refs: np.ndarray, times: np.ndarray) -> TlbStats:
        """:meth:`access` for a stream whose pages are all of one size (no routing per access)."""
        n = len(virts)
        code = _SIZE_CODE.get(size, 0)
        tags = ((virts >> _SHIFT_BY_CODE[code]).astype(np.int64) << 2) | code
        first = np.empty(n, dtype=bool)
        first[0] = True
        np.not_equal(tags[1:], tags[:-1], out=first[1:])
        idx = np.flatnonzero(first)
        l1_hits = n - len(idx)
        looked_up, lookup_times = (tags, times) if len(idx) == n else (tags[idx], times[idx])
        route1, route2 = int(self._route1[code]), int(self._route2[code])
        if route1 >= 0:
            hit1 = self._play(self._l1[route1], looked_up, lookup_times)
            l1_hits += int(hit1.sum())
            miss = np.flatnonzero(~hit1)
            if len(miss) < len(looked_up):
                looked_up, lookup_times, idx = looked_up[miss], lookup_times[miss], idx[miss]
        l2_hits = 0
        walked = idx
        if route2 >= 0 and len(looked_up):
            hit2 = self._play(self._l2[route2], looked_up, lookup_times)
            l2_hits = int(hit2.sum())
            if l2_hits:
                walked = idx[~hit2]
        return TlbStats(accesses=n, l1_hits=l1_hits, l2_hits=l2_hits, walks=len(walked),
                        walk_references=int(refs[walked].sum()), faults=0)

    def _play(self, state: _ArrayState, tags: np.ndarray, times: np.ndarray) -> np.ndarray:
        if self.engine == "reference":
            return state.play_reference(tags, times)
        return state.play(tags, times)

    def flush_all(self) -> None:
        """``flush_tlb_all()``: every entry of every array invalid."""
        for state in self._l1 + self._l2:
            state.flush()
        self.flushes["all"] += 1

    def flush_pages(self, virts, page_size: int = KiB4) -> None:
        """``flush_tlb_one_kernel()`` / INVLPG for each address: its entry of any size goes."""
        virts = np.asarray(virts, dtype=np.uint64).ravel()
        tags = np.concatenate([_tags(virts, np.full(len(virts), size)) for size in _SIZE_CODE])
        for state in self._l1 + self._l2:
            state.flush(tags)
        self.flushes["pages"] += len(virts)

    def holds(self, virt: int, page_size: int = KiB4) -> bool:
        """Is there an entry for the page of ``page_size`` that contains ``virt``?"""
        tag = int(_tags(np.array([virt], dtype=np.uint64), np.array([page_size]))[0])
        return any((state.tags == tag).any() for state in self._l1 + self._l2)

    def occupancy(self) -> dict[str, np.ndarray]:
        """For each array, a (sets, ways) boolean map of valid entries (what a TLB view draws)."""
        return {state.spec.name: state.tags >= 0 for state in self._l1 + self._l2}

    def entries(self) -> dict[str, list[tuple[int, int, int]]]:
        return {state.spec.name: state.contents() for state in self._l1 + self._l2}
