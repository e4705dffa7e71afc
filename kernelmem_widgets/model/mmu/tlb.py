"""A data TLB: a first-level dTLB per page size and a second-level (shared) TLB, LRU in each set.

An access looks up the first-level array that holds its page size; on a miss the second-level
array for that size (if the CPU has one): a hit there refills the first level, a miss is a page
walk that fills both.  Each array is set-associative: ``entries / ways`` sets (a power of two),
the set picked by the low bits of the virtual page number, least recently used way replaced.
A shared array (Skylake's 1536-entry STLB for 4 KiB and 2 MiB) tags each entry with its size.

Simulation is vectorised: runs of accesses to one page collapse to one lookup (the rest are
first-level hits, nothing can evict the entry in between); a stream of pages never seen before
and absent from the TLB misses throughout, so its end state is computed at once; anything else
is played in rounds, one access per set per round, every set at once (sets are independent), or
for arrays of fewer than 64 sets access by access (a round of so few sets costs more than that).

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


class _ArrayState:
    __slots__ = ("spec", "tags", "stamps")

    def __init__(self, spec: TlbArray) -> None:
        self.spec = spec
        self.tags = np.full((spec.sets, spec.ways), -1, dtype=np.int64)
        self.stamps = np.full((spec.sets, spec.ways), -1, dtype=np.int64)

    def set_of(self, tags: np.ndarray) -> np.ndarray:
        return (tags >> 2) & (self.spec.sets - 1)

    def play(self, tags: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Look up ``tags`` in order (``times`` their global clock); update the state; return hits."""
        n = len(tags)
        hits = np.zeros(n, dtype=bool)
        if not n:
            return hits
        sets = self.set_of(tags)
        if bool((tags[1:] > tags[:-1]).all()):           # increasing pages (a sequential stream): no repeats
            repeats, ordered = False, tags
        else:
            ordered = np.sort(tags)
            repeats = bool((ordered[1:] == ordered[:-1]).any())
        valid = self.tags[self.tags >= 0]
        if not repeats and not (len(valid) and np.isin(valid, ordered, assume_unique=True).any()):
            self._fill_cold(tags, times, sets)
            return hits
        if self.spec.sets < 64:      # rounds of few sets cost more than a plain loop over the accesses
            return self._play_sequential(tags, times, sets)
        return self._play_rounds(tags, times, sets)

    def _fill_cold(self, tags, times, sets) -> None:
        """All misses: each set keeps its ``ways`` most recent entries, new ones first, then old ones."""
        nsets, ways = self.spec.sets, self.spec.ways
        key = sets.astype(np.uint16 if nsets <= 1 << 16 else np.int64)
        order = np.argsort(key, kind="stable")                   # radix sort for 16-bit keys
        sorted_sets = sets[order]
        counts = np.bincount(sets, minlength=nsets)
        from_end = np.cumsum(counts)[sorted_sets] - 1 - np.arange(len(order))      # 0 = the set's latest
        keep = from_end < ways
        new_tags = np.full((nsets, ways), -1, dtype=np.int64)
        new_stamps = np.full((nsets, ways), -1, dtype=np.int64)
        new_tags[sorted_sets[keep], from_end[keep]] = tags[order][keep]
        new_stamps[sorted_sets[keep], from_end[keep]] = times[order][keep]
        short = np.flatnonzero(counts < ways)
        if len(short):                                           # sets that keep some old entries
            recent = np.argsort(-self.stamps[short], axis=1)
            old_t = np.take_along_axis(self.tags[short], recent, axis=1)
            old_s = np.take_along_axis(self.stamps[short], recent, axis=1)
            slot = np.arange(ways)[None, :]
            source = slot - counts[short][:, None]
            take = source >= 0
            rows = np.broadcast_to(np.arange(len(short))[:, None], take.shape)
            new_tags[short[:, None].repeat(ways, 1)[take], np.broadcast_to(slot, take.shape)[take]] = \
                old_t[rows[take], source[take]]
            new_stamps[short[:, None].repeat(ways, 1)[take], np.broadcast_to(slot, take.shape)[take]] = \
                old_s[rows[take], source[take]]
        self.tags[:] = new_tags
        self.stamps[:] = new_stamps

    def _play_sequential(self, tags, times, sets) -> np.ndarray:
        hits = np.zeros(len(tags), dtype=bool)
        rows_t, rows_s = self.tags.tolist(), self.stamps.tolist()
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

    def _play_rounds(self, tags, times, sets) -> np.ndarray:
        hits = np.zeros(len(tags), dtype=bool)
        order = np.lexsort((times, sets))
        sorted_sets = sets[order]
        starts = np.searchsorted(sorted_sets, sorted_sets, side="left")
        rank = np.arange(len(order)) - starts
        by_round = order[np.lexsort((sorted_sets, rank))]
        bounds = np.searchsorted(np.sort(rank), np.arange(int(rank.max()) + 2))
        state_t, state_s = self.tags, self.stamps
        for r in range(len(bounds) - 1):
            acc = by_round[bounds[r]:bounds[r + 1]]
            s, t = sets[acc], tags[acc]
            match = state_t[s] == t[:, None]
            hit = match.any(axis=1)
            way = np.where(hit, match.argmax(axis=1), state_s[s].argmin(axis=1))
            state_t[s, way] = t
            state_s[s, way] = times[acc]
            hits[acc] = hit
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

    def __init__(self, preset: str | TlbPreset = "skylake") -> None:
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
            l1_hit[sel] = state.play(tags[sel], times[sel])
        missed = idx[~l1_hit[idx]]
        l2_hit = np.zeros(n, dtype=bool)
        route2 = self._route2[codes[missed]]
        for i, state in enumerate(self._l2):
            sel = missed[route2 == i]
            l2_hit[sel] = state.play(tags[sel], times[sel])
        walks = np.zeros(n, dtype=bool)
        walks[missed] = ~l2_hit[missed]
        walks |= ~mapped
        return TlbStats(accesses=n, l1_hits=int(l1_hit.sum()), l2_hits=int(l2_hit.sum()), walks=int(walks.sum()),
                        walk_references=int(refs[walks].sum()), faults=int((~mapped).sum()))

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
