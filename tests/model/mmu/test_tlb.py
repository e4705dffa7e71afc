"""The TLB model: hits and misses worked out by hand, presets, flushes, bad geometries."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernelmem_widgets.model.mmu.mmu_errors import BadTlbGeometry
from kernelmem_widgets.model.mmu.tlb import GiB1, KiB4, MiB2, TLB_PRESETS, Tlb, TlbArray


def pages(*vpns):
    return np.array(vpns, dtype=np.uint64) * 4096


def test_teaching_tlb_by_hand():
    # dTLB 4K: 2 sets x 2 ways (set = vpn & 1); STLB: 4 sets x 4 ways (set = vpn & 3)
    tlb = Tlb("teaching")
    stats = tlb.access(pages(0, 2, 4, 0, 1, 1, 2), np.full(7, KiB4))
    # 0 miss, 2 miss, 4 miss (evicts 0 from set 0), 0: L1 miss, STLB hit (evicts 2), 1 miss,
    # 1: same page again, L1 hit, 2: L1 miss (set 0 holds 4, 0), STLB hit
    assert (stats.l1_hits, stats.l2_hits, stats.walks) == (1, 2, 4)
    assert stats.walk_references == 16


def test_lru_evicts_the_least_recently_used_way():
    tlb = Tlb("teaching")
    tlb.access(pages(0, 2), np.full(2, KiB4))
    tlb.access(pages(0), np.full(1, KiB4))        # 0 is now more recent than 2
    tlb.access(pages(4), np.full(1, KiB4))        # evicts 2 from L1 set 0
    assert tlb.holds(0) and tlb.holds(4 * 4096)
    assert tlb.access(pages(0), np.full(1, KiB4)).l1_hits == 1
    assert tlb.access(pages(2), np.full(1, KiB4)).l2_hits == 1


def test_page_sizes_go_to_their_own_arrays():
    tlb = Tlb("skylake")
    virts = np.array([0, 4096, 2 << 20, 1 << 30, 0, 4096, 2 << 20, 1 << 30], dtype=np.uint64)
    sizes = np.array([KiB4, KiB4, MiB2, GiB1] * 2)
    stats = tlb.access(virts, sizes, np.array([4, 4, 3, 2] * 2))
    assert (stats.l1_hits, stats.walks, stats.walk_references) == (4, 4, 13)


def test_sequential_stream_misses_once_per_page():
    tlb = Tlb("skylake")
    virts = np.arange(0, 100 << 20, 64, dtype=np.uint64)
    stats = tlb.access(virts, np.full(len(virts), KiB4))
    assert stats.walks == 25600 and stats.l1_hits == len(virts) - 25600
    again = tlb.access(virts, np.full(len(virts), KiB4))    # 100 MiB is far beyond the STLB's 6 MiB reach
    assert again.walks == 25600 and again.l2_hits == 0


def test_a_buffer_within_reach_hits_after_the_first_pass():
    tlb = Tlb("skylake")
    virts = np.arange(0, 64 * 4096, 4096, dtype=np.uint64)     # exactly the 64-entry dTLB
    assert tlb.access(virts, np.full(64, KiB4)).walks == 64
    assert tlb.access(virts, np.full(64, KiB4)).l1_hits == 64
    virts = np.arange(0, 1024 * 4096, 4096, dtype=np.uint64)
    tlb.access(virts, np.full(1024, KiB4))
    second = tlb.access(virts, np.full(1024, KiB4))
    # the dTLB ends the first pass holding pages 960..1023, which the second pass evicts before it
    # reaches them: every access misses the dTLB and hits the 1536-entry STLB
    assert (second.l1_hits, second.l2_hits, second.walks) == (0, 1024, 0)


def test_reach_of_each_page_size():
    skl = TLB_PRESETS["skylake"]
    assert skl.reach(KiB4) == {"L1": 64 * 4096, "L2": 1536 * 4096}
    assert skl.reach(MiB2) == {"L1": 32 << 21, "L2": 1536 << 21}
    assert TLB_PRESETS["haswell"].reach(GiB1) == {"L1": 4 << 30, "L2": 0}


@pytest.mark.parametrize("entries, ways", [(48, 4), (0, 1), (64, 0), (64, 3), (True, 1)])
def test_geometries_that_are_not_a_power_of_two_sets_are_refused(entries, ways):
    with pytest.raises(BadTlbGeometry):
        TlbArray("bad", entries, ways, (KiB4,))


def test_unmapped_addresses_walk_and_fault_without_filling():
    tlb = Tlb("teaching")
    stats = tlb.access(pages(1, 1), np.array([0, 0]))
    assert (stats.walks, stats.faults, stats.l1_hits) == (2, 2, 0)
    assert not any(arr.any() for arr in tlb.occupancy().values())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=200), st.integers(0, 40), st.sampled_from(["teaching", "skylake"]))
def test_no_stale_translation_survives_a_flush(vpns, flushed, preset):
    tlb = Tlb(preset)
    tlb.access(pages(*vpns), np.full(len(vpns), KiB4))
    tlb.flush_pages(pages(flushed))
    assert not tlb.holds(flushed * 4096)
    assert tlb.access(pages(flushed), np.full(1, KiB4)).walks == 1
    tlb.flush_all()
    assert not any(tlb.holds(v * 4096) for v in set(vpns))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=400))
def test_vectorised_engine_equals_a_plain_lru_simulation(vpns):
    tlb = Tlb("skylake")
    stats = tlb.access(pages(*vpns), np.full(len(vpns), KiB4))
    l1 = [[] for _ in range(16)]
    l2 = [[] for _ in range(128)]
    hits1 = hits2 = 0
    for vpn in vpns:
        row = l1[vpn % 16]
        if vpn in row:
            hits1 += 1
            row.remove(vpn)
            row.append(vpn)
            continue
        row.append(vpn)
        del row[:-4]
        row2 = l2[vpn % 128]
        if vpn in row2:
            hits2 += 1
            row2.remove(vpn)
        row2.append(vpn)
        del row2[:-12]
    assert (stats.l1_hits, stats.l2_hits) == (hits1, hits2)


def _held(tlb):
    """Which (array, set, tag) entries a TLB holds, whatever way each sits in."""
    return sorted((name, s, t) for name, rows in tlb.entries().items() for s, _w, t in rows)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["teaching", "skylake", "haswell"]),
       st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 3000), st.sampled_from([KiB4, KiB4, KiB4, MiB2, GiB1, 0])),
                                   min_size=1, max_size=300),
                          st.lists(st.integers(0, 3000), max_size=4), st.booleans()),
                min_size=1, max_size=4))
def test_reuse_distance_engine_equals_the_reference_loop(preset, rounds):
    """Streams of mixed page sizes and unmapped addresses, with INVLPGs and full flushes between them."""
    fast, slow = Tlb(preset), Tlb(preset, engine="reference")
    for stream, flushed, flush_all in rounds:
        virts = np.array([v for v, _ in stream], dtype=np.uint64) * np.uint64(4096)
        sizes = np.array([s for _, s in stream])
        assert fast.access(virts, sizes) == slow.access(virts, sizes)
        assert _held(fast) == _held(slow)
        if flushed:
            fast.flush_pages(pages(*flushed))
            slow.flush_pages(pages(*flushed))
        if flush_all:
            fast.flush_all()
            slow.flush_all()
        assert _held(fast) == _held(slow)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reuse_distance_engine_on_long_streams(seed):
    """Long streams take the radix-sorted paths (>= 4096 lookups): still exactly the reference's counts."""
    rng = np.random.default_rng(seed)
    fast, slow = Tlb("skylake"), Tlb("skylake", engine="reference")
    for span, drift in ((20000, 0), (3000, 7), (500, 0)):
        vpns = rng.integers(0, span, 12000) + np.arange(12000) // (drift or 12000)
        virts = vpns.astype(np.uint64) * np.uint64(4096)
        sizes = np.full(len(virts), KiB4) if seed != 2 else rng.choice([KiB4, MiB2], len(virts))
        assert fast.access(virts, sizes) == slow.access(virts, sizes)
        assert _held(fast) == _held(slow)


def test_sequential_second_pass_by_hand():
    """A 100 MiB stream twice: the second pass finds the STLB's last 1536 pages evicted before it reaches them."""
    virts = np.arange(0, 100 << 20, 4096, dtype=np.uint64)
    tlb = Tlb("skylake")
    first = tlb.access(virts, np.full(len(virts), KiB4))
    second = tlb.access(virts, np.full(len(virts), KiB4))
    assert (first.walks, second.walks, second.l1_hits, second.l2_hits) == (25600, 25600, 0, 0)
    # a 6 MiB stream (exactly the STLB's reach) hits the STLB throughout its second pass
    small = np.arange(0, 1536 * 4096, 4096, dtype=np.uint64)
    tlb = Tlb("skylake")
    tlb.access(small, np.full(1536, KiB4))
    assert tlb.access(small, np.full(1536, KiB4)).l2_hits == 1536


def test_unknown_engine_is_refused():
    with pytest.raises(BadTlbGeometry, match="accepted"):
        Tlb("skylake", engine="fast")
