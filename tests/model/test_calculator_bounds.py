"""The pure calculators refuse, at once and by name, arguments whose cost would grow with their value (issue 9)."""

import pytest

from kernelmem_widgets.model import Machine
from kernelmem_widgets.model.errors import InvalidArgument, InvalidSize
from kernelmem_widgets.model.page_alloc import vmstat, watermarks
from kernelmem_widgets.model.slab import kmalloc, slub_sizes


def test_kmalloc_cache_name_of_2_70_is_refused_with_the_range():
    with pytest.raises(InvalidSize, match=r"does not fit a size_t; accepted: 0\.\.18,446,744,073,709,551,615"):
        kmalloc.kmalloc_cache_name(2 ** 70)
    assert kmalloc.kmalloc_cache_name(2 ** 64 - 1) is None          # the largest size_t: no cache, no error


@pytest.mark.parametrize("call", [
    lambda: kmalloc.kmalloc_size_roundup(5, max_page_order=2 ** 70),    # 4096 << 2**70 would be built
    lambda: kmalloc.kmalloc_max_size(max_page_order=10 ** 30),
    lambda: kmalloc.kmalloc_cache_name(5, page_size=2 ** 70),
    lambda: kmalloc.kmalloc_cache_name(5, shift_low=2 ** 70),
    lambda: kmalloc.slab_2_6_kmalloc_sizes(max_page_order=2 ** 40),
    lambda: slub_sizes.calc_slab_order(64, 0, 2 ** 40, 16),            # a loop of 2**40 orders
    lambda: slub_sizes.order_objects(2 ** 40, 64),
    lambda: slub_sizes.fls(2 ** 5000),
    lambda: vmstat.fragmentation_index([1] * 21, 2 ** 40),             # blocks << order
    lambda: vmstat.fragmentation_index([2 ** 70], 0),
    lambda: vmstat.format_index(10 ** 4000),
    lambda: watermarks.calculate_min_free_kbytes(10 ** 4000),          # isqrt of a 4,000-digit number
    lambda: watermarks.mult_frac(1, 2, 0),
])
def test_siblings_are_refused_by_name(call):
    with pytest.raises(InvalidArgument, match="accepted"):
        call()


def test_zone_watermark_ok_checks_before_it_shifts():
    zone = Machine.preset("linux-6.18-tiny").zone("Normal")
    with pytest.raises(InvalidArgument, match="order"):
        watermarks.zone_watermark_ok(zone, 2 ** 70, 10, 0, 0)
    with pytest.raises(InvalidArgument, match="not a zone"):
        watermarks.zone_watermark_ok("Normal", 0, 10, 0, 0)
    assert watermarks.zone_watermark_ok(zone, 0, 10, 0, 0) is True
