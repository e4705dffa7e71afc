"""Machine.alloc_pages_many: the same machine as one alloc_pages call per page."""

from hypothesis import given, settings, strategies as st

from kernelmem_widgets.model import Machine, procfs

MASKS = ["GFP_HIGHUSER_MOVABLE", "GFP_KERNEL", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_DMA32", "GFP_ATOMIC"]


def play(script, many):
    machine = Machine.preset("linux-6.18-x86_64", ram="64M")
    held, results = [], []
    for kind, mask, order, count in script:
        if kind == "free":
            for _ in range(min(count, len(held))):
                machine.free_pages(*held.pop(count % len(held)))
            continue
        if many:
            pfns, error = machine.alloc_pages_many(mask, order, count)
        else:
            pfns, error = [], None
            for _ in range(count):
                try:
                    pfns.append(machine.alloc_pages(mask, order))
                except Exception as failure:  # noqa: BLE001 - compared below
                    error = failure
                    break
        results.append((pfns, str(error) if error else None))
        held.extend((pfn, order) for pfn in pfns)
    machine.check_invariants()
    return results, procfs.render_pagetypeinfo(machine), machine.trace.lines()


step = st.tuples(st.sampled_from(["alloc", "alloc", "free"]), st.sampled_from(MASKS),
                 st.sampled_from([0, 0, 0, 1, 3]), st.integers(1, 6000))


@settings(max_examples=25, deadline=None)
@given(st.lists(step, min_size=1, max_size=8))
def test_alloc_pages_many_equals_one_call_per_page(script):
    assert play(script, many=True) == play(script, many=False)


def test_filling_a_machine_to_the_watermark():
    """Order-0 pages until the watermarks stop them: every zone, the same pfns either way."""
    script = [("alloc", "GFP_HIGHUSER_MOVABLE", 0, 20000)]
    many, single = play(script, True), play(script, False)
    assert many == single
    assert many[0][0][1] is not None and "page allocation failure: order:0" in many[0][0][1]
