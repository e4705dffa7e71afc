"""RtosLab: clicks call public model methods, errors go to the status line, never a traceback."""

from kernelmem_widgets import RtosLab
from kernelmem_widgets.model.rtos import NanoMalloc, PartitionMalloc, Tlsf


def test_step_run_and_the_views_follow():
    lab = RtosLab(trace="literal", literal="+20, +100, -0, +800")
    assert isinstance(lab.heap, PartitionMalloc) and lab.stepper.position == 0
    lab.step_button.click()
    part = lab.heap.partitions[0]
    assert lab.status_text == f"#0 malloc(20) [id 0] = {part.addr_ptr + 4:#x}"
    assert lab.byte_view.kind_at(part.addr_ptr) == "header"
    lab.run_button.click()
    assert lab.stepper.done and "3 served, 0 failed" in lab.status_text
    assert lab.timeline.lines.y.shape == (2, 4)


def test_switch_allocator_and_compare():
    lab = RtosLab(n=120, seed=3)
    lab.allocator.value = "TLSF"
    lab.create_button.click()
    assert isinstance(lab.heap, Tlsf) and lab.byte_view.allocator is lab.heap
    lab.select_allocator("newlib-nano")
    assert isinstance(lab.heap, NanoMalloc)
    lab.compare_button.click()
    assert set(lab.runs) >= {"partitions", "newlib-nano", "TLSF"}
    assert "Linux kmalloc" in lab.waste_plot.bars.labels


def test_by_hand_get_put_including_the_wrong_calls():
    lab = RtosLab(classes="32x6, 128x2")
    lab.partition.value = "pool-32"
    lab.get_button.click()
    first = lab.held[-1][1]
    assert lab.status_text.startswith(f"OSMemGet(pool-32) = {first:#x}") and lab.address.value == hex(first)
    lab.get_button.click()
    lab.get_button.click()
    third = int(lab.address.value, 16)
    lab.put_button.click()       # puts the block in the address box: the third one
    lab.put_button.click()       # the same block again: a double put, accepted by os_mem.c (NbrFree 4 < 6)
    assert "double put" in lab.status_text and "corrupted" in lab.status_text
    assert lab.byte_view.kind_at(third) == "corrupt"
    lab.address.value = "0x1"
    lab.put_button.click()
    assert "outside the RAM" in lab.status_text
    lab.address.value = "nonsense"
    lab.put_button.click()
    assert "not an address" in lab.status_text


def test_strict_partitions_refuse():
    lab = RtosLab(classes="32x4, 128x2", strict=True)
    lab.os_mem_get("pool-32")
    lab.os_mem_put(lab.heap.partitions[0].addr_ptr + 4, "pool-32")
    assert "OS_ERR_MEM_INVALID_P_BLK" in lab.status_text and "misaligned" in lab.status_text


def test_bad_input_goes_to_the_status_line():
    lab = RtosLab()
    lab.classes.value = "32x"
    lab.create_button.click()
    assert "is not SIZExCOUNT" in lab.status_text
    lab.classes.value = "32x4"
    lab.trace_kind.value = "literal"
    lab.literal.value = "+10, garbage"
    lab.create_button.click()
    assert "'garbage' is not an operation" in lab.status_text
    lines = lab.run_ops(["bogus", "get nowhere"])
    assert "unknown operation" in lines[0] and "no partition 'nowhere'" in lines[1]


def test_tune_sets_the_partitions():
    lab = RtosLab(n=200, seed=1)
    result = lab.tune()
    assert lab.classes.value == result.spec and result.feasible
    lab.create()
    lab.run_all()
    assert lab.stepper.result.failed == 0
