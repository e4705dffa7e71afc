"""The history every lab shares (labs/_history.py): undo, step back and forward replay exactly; export and
load round-trip; bad sessions change nothing; long work is cancelled consistently; brief/full; side by side."""

import asyncio

import pytest

from kernelmem_widgets import BuddyLab, Machine, SideBySide, SlabLab
from kernelmem_widgets.labs.buddy_lab import AGE_CHUNK
from kernelmem_widgets.model.errors import InvalidArgument
from kernelmem_widgets.model.workload import MAX_OPS

from lab_state_digest import state_digest


def buddy():
    return BuddyLab(Machine.preset("linux-6.18-tiny", seed=1), seed=1)


def slab():
    return SlabLab(Machine.preset("linux-6.18-tiny", seed=1, nr_cpus=2), seed=1)


def lab_state(lab):
    """The whole model, plus what the lab holds and its random-number state."""
    rng = lab._rng.bit_generator.state
    if isinstance(lab, BuddyLab):
        return state_digest(lab.machine), list(lab.held), rng
    return state_digest(lab.machine), list(lab.held), list(lab.vheld), rng


BUDDY_SESSION = [lambda lab: lab.allocate(3), lambda lab: lab.age(5000), lambda lab: lab.free(),
                 lambda lab: lab.allocate(5, "GFP_HIGHUSER_MOVABLE"), lambda lab: lab.compact(),
                 lambda lab: lab.free(), lambda lab: lab.reset(), lambda lab: lab.allocate(0, "GFP_DMA")]
SLAB_SESSION = [lambda lab: lab.kmalloc(100, 40), lambda lab: lab.kfree(7, random=True),
                lambda lab: lab.vmalloc("1M"), lambda lab: lab.load_module("2M", "linux-6.18-x86_64"),
                lambda lab: lab.load_module("3M", "linux-2.6.35-i386"), lambda lab: lab.unload_module(),
                lambda lab: lab.reboot(4, "slab"), lambda lab: lab.kmalloc(9000, 3, "GFP_ATOMIC", 1),
                lambda lab: lab.kfree(2, cpu=1), lambda lab: lab.shrink(), lambda lab: lab.reset(),
                lambda lab: lab.kmalloc(40, 5)]


def play(lab, session):
    states = [lab_state(lab)]
    for action in session:
        action(lab)
        states.append(lab_state(lab))
    assert len(lab.history) == len(session), lab.history.ops
    return states


@pytest.mark.parametrize("make, session", [(buddy, BUDDY_SESSION), (slab, SLAB_SESSION)], ids=["buddy", "slab"])
def test_every_step_of_the_history_replays_to_exactly_that_state(make, session):
    lab = make()
    states = play(lab, session)
    if make is buddy:
        assert list(lab._checkpoints) == [2], "a checkpoint after the aging: moving back replays from there"
    for position in (3, 0, len(session), 1, 5, 2, len(session) - 1, 4, 6, 7, len(session)):
        assert lab.goto(position), lab.status_text
        assert lab_state(lab) == states[position], f"step {position}"
        lab.machine.check_invariants()
        assert lab.history_controls.scrubber.value == position
        assert lab.history_controls.caption.value.startswith(f"step {position} of {len(session)}")
    lab.goto(len(session))
    lab.step_back()
    assert lab_state(lab) == states[-2] and lab.history.position == len(session) - 1
    lab.step_forward()
    assert lab_state(lab) == states[-1]
    assert "step forward: you are at the newest" in (lab.step_forward() or lab.status_text)


def test_undo_takes_back_the_newest_operation_and_a_new_action_drops_the_steps_ahead():
    lab = buddy()
    states = play(lab, BUDDY_SESSION[:4])
    assert lab.undo() and lab_state(lab) == states[3] and len(lab.history) == 3
    assert lab.status_text.startswith("undid 'alloc 5 GFP_HIGHUSER_MOVABLE': step 3 of 3, after 'free 0x")
    lab.step_back()
    lab.step_back()
    assert lab.history.position == 1 and len(lab.history) == 3 and lab_state(lab) == states[1]
    lab.allocate(2)
    assert lab.history.ops == ["alloc 3 GFP_KERNEL", "alloc 2 GFP_KERNEL"] and lab.history.position == 2
    lab.undo()
    lab.undo()
    assert lab_state(lab) == states[0] and lab.history.ops == []
    assert not lab.undo() and lab.status_text == "undo: nothing to take back"
    assert lab.history_controls.undo_button.disabled and lab.history_controls.forward_button.disabled


def test_the_buttons_and_the_scrubber_drive_the_history():
    lab = buddy()
    lab.order.value = 4
    for _ in range(3):
        lab.alloc_button.click()
    controls = lab.history_controls
    first = lab_state(lab)
    controls.back_button.click()
    assert lab.history.position == 2 and lab.held == [(0, 4), (16, 4)]
    controls.scrubber.value = 0
    assert lab.held == [] and lab.status_text == "moved: step 0 of 3, the machine as booted"
    controls.forward_button.click()
    assert lab.held == [(0, 4)]
    controls.scrubber.value = 3
    assert lab_state(lab) == first
    controls.undo_button.click()
    assert lab.history.ops == ["alloc 4 GFP_KERNEL"] * 2 and controls.scrubber.max == 2


def test_construction_ops_are_the_start_of_the_session():
    lab = BuddyLab(Machine.preset("linux-6.18-tiny"), ops=["alloc 3", "alloc 3 GFP_BOGUS", "age 2000"])
    assert lab.history.ops == ["alloc 3", "age 2000"] and lab.history.base == 2
    assert lab.history_controls.scrubber.min == 2
    assert not lab.step_back() and "the lab's starting operations stay" in lab.status_text
    lab.allocate(1)
    lab.undo()
    assert lab.history.ops == ["alloc 3", "age 2000"]


@pytest.mark.parametrize("make, session", [(buddy, BUDDY_SESSION), (slab, SLAB_SESSION)], ids=["buddy", "slab"])
def test_export_then_load_gives_the_same_session_on_a_new_lab(make, session):
    lab = make()
    states = play(lab, session)
    lab.history_controls.export_button.click()
    text = lab.history_controls.export_text.value
    assert text == lab.export_ops() == "\n".join(lab.history.ops)
    other = make()
    other.history_controls.load_text.value = "# handed out in class\n\n" + text + "\n"
    other.history_controls.load_button.click()
    assert other.history.ops == lab.history.ops and other.history.position == len(session)
    assert other.status_text.startswith(f"loaded {len(session)} operations: step {len(session)} of {len(session)}")
    assert lab_state(other) == states[-1]
    other.goto(2)
    assert lab_state(other) == states[2]
    lab.goto(2)
    assert lab.export_ops() == "\n".join(lab.history.ops[:2]), "export gives the session up to the step shown"


@pytest.mark.parametrize("make, text, expected", [
    (buddy, "alloc 3\nalloc three\n", "line 2 ('alloc three'): 'three' in 'alloc three' is not a number"),
    (buddy, "alloc 3\n\nfrobnicate 0x10\n", "line 3 ('frobnicate 0x10'): cannot read operation 'frobnicate 0x10'"),
    (buddy, "age -5", "line 1 ('age -5'): cannot read operation 'age -5': 'age STEPS' takes a step count 1..1,000,000"),
    (buddy, "age 99999999", "line 1 ('age 99999999')"),
    (buddy, "free 0x10", "line 1 ('free 0x10'): cannot read operation 'free 0x10'"),
    (slab, "kmalloc 100\nkfree 3 sometimes", "line 2 ('kfree 3 sometimes'): unknown operation 'kfree 3 sometimes'"),
    (slab, "kmalloc lots", "line 1 ('kmalloc lots')"),
    (slab, "reboot cpus=many", "line 1 ('reboot cpus=many'): unknown operation 'reboot cpus=many': 'many' is not a"),
    (slab, "shrink now", "line 1 ('shrink now')"),
])
def test_a_session_with_garbage_names_the_line_and_what_is_accepted_and_changes_nothing(make, text, expected):
    lab = make()
    (BUDDY_SESSION if make is buddy else SLAB_SESSION)[0](lab)
    before, ops = lab_state(lab), lab.history.ops
    assert not lab.load_ops(text)
    assert lab.status_text.startswith("not loaded, the lab is unchanged: " + expected), lab.status_text
    assert "accepted: '" in lab.status_text and lab.accepted_ops in lab.status_text
    assert lab_state(lab) == before and lab.history.ops == ops


@pytest.mark.parametrize("make, text, refused", [
    (buddy, "alloc 3\nfree 0x777 0\nalloc 2", "line 2 ('free 0x777 0') was refused: free pfn 0x777 failed"),
    (buddy, "alloc 10\nalloc 10\nalloc 10\nalloc 10", "line 4 ('alloc 10') was refused: allocate order 10 failed"),
    (slab, "kmalloc 100 x2\nvfree", "line 2 ('vfree') was refused: nothing to vfree"),
    (slab, "reboot allocator=SLAB2", "line 1 ('reboot allocator=SLAB2') was refused: reboot the slab layer failed"),
])
def test_a_session_the_model_refuses_leaves_the_lab_as_it_was(make, text, refused):
    lab = make()
    play(lab, (BUDDY_SESSION if make is buddy else SLAB_SESSION)[:3])
    lab.step_back()
    before, ops, position = lab_state(lab), lab.history.ops, lab.history.position
    assert not lab.load_ops(text)
    assert lab.status_text.startswith("not loaded, the lab is as it was: " + refused), lab.status_text
    assert lab_state(lab) == before and lab.history.ops == ops and lab.history.position == position


@pytest.mark.parametrize("text, expected", [
    (None, "a session is text, one operation a line, not NoneType"),
    (["alloc 3"], "a session is text, one operation a line, not list"),
    ("alloc 0\n" * (MAX_OPS + 1), f"{MAX_OPS + 1:,} operations: at most {MAX_OPS:,} in one session"),
    ("x" * 500_000, "a session of 500,000 characters: at most 400,000"),
])
def test_a_session_that_is_not_a_session(text, expected):
    lab = buddy()
    before = lab_state(lab)
    assert not lab.load_ops(text)
    assert expected in lab.status_text and lab_state(lab) == before


def test_goto_refuses_steps_outside_the_history():
    lab = buddy()
    lab.allocate(1)
    for position in (-1, 2, 1.0, True, "1"):
        assert not lab.goto(position)
        assert lab.status_text.startswith(f"go to {position!r}: accepted: a step 0..1 of this history")
    assert lab.history.position == 1


# ---------------------------------------------------------------------- long work, cancelled
def age_with_stop(lab, steps, stop_after_chunks):
    """Press *age* inside a running event loop (as the kernel runs a click), press *stop* after some chunks."""
    seen = []

    async def session():
        lab.age_steps.value = steps
        lab.age_button.click()
        task = lab.long_task
        assert task is not None and lab._busy == "aging"
        while not task.done():
            await asyncio.sleep(0)
            seen.append(lab.history_controls.progress.value)
            if lab.history_controls.progress.value >= stop_after_chunks * AGE_CHUNK and lab._busy:
                lab.alloc_button.click()          # a click while aging is refused, in words
                seen.append(lab.status_text)
                lab.history_controls.stop_button.click()
        await task
    asyncio.run(session())
    return seen


def test_stop_cancels_aging_between_chunks_and_the_history_records_what_ran():
    lab = buddy()
    seen = age_with_stop(lab, 20_000, 2)
    ran = int(lab.history.ops[-1].split()[1])
    assert lab.history.ops == [f"age {ran}"] and ran % AGE_CHUNK == 0 and 2 * AGE_CHUNK <= ran < 20_000
    assert "allocate: wait, aging is running (press stop to cancel it)" in seen
    assert f"aged the machine (seed 1): {ran:,} steps (cancelled)" in lab.status_text
    assert not lab._busy and lab.history_controls.stop_button.disabled and not lab.age_button.disabled
    lab.machine.check_invariants()
    twin = buddy()
    twin.age(ran)
    assert lab_state(lab) == lab_state(twin), "what ran is exactly an aging of that many steps"
    lab.allocate(2)
    lab.step_back()
    assert lab_state(lab) == lab_state(twin), "and it replays as one"


def test_aging_in_chunks_draws_the_numbers_one_call_draws():
    lab = buddy()
    age_with_stop(lab, 9_500, 99)
    assert lab.history.ops == ["age 9500"] and "(cancelled)" not in lab.status_text
    assert lab.history_controls.progress.value == 9_500
    twin = buddy()
    twin.age(9_500)
    assert lab_state(lab) == lab_state(twin) and lab.status_text == twin.status_text


def test_long_work_refuses_history_moves_while_it_runs():
    lab = buddy()
    lab.allocate(1)

    async def session():
        lab.start_age(10_000)
        await asyncio.sleep(0)
        assert not lab.undo() and lab.status_text == "undo: wait, aging is running (press stop to cancel it)"
        assert not lab.load_ops("alloc 1")
        lab.history_controls.scrubber.value = 0
        assert lab.history.position == 1 and lab.history_controls.scrubber.value == 1
        lab.stop()
        await lab.long_task
    asyncio.run(session())
    assert lab.history.ops[0] == "alloc 1 GFP_KERNEL" and lab.history.ops[1].startswith("age ")


# ---------------------------------------------------------------------- explanation level
def test_brief_explanations_say_the_first_clause_and_errors_stay_whole():
    lab = buddy()
    lab.allocate(3)
    full = lab.status_text
    lab.history_controls.explanation.value = "brief"
    assert lab.explanation == "brief" and lab.status_text == "allocated order 3 (32 KiB) at pfn 0x0 in zone Normal " \
                                                             "(GFP_KERNEL)"
    assert full.startswith(lab.status_text + ": ") and "expand() split it" in full
    assert lab.trace_view.layout.display == "none"
    lab.age(3000)
    assert lab.status_text.startswith("aged 3,000 steps: zone Normal ") and "allocations" not in lab.status_text
    lab.allocate(10)
    lab.allocate(10)
    lab.allocate(10)
    lab.allocate(10)
    assert lab.status_text.startswith("allocate order 10 failed: page allocation failure: order:10") \
        and lab.status_text.endswith("external fragmentation"), "an error is never cut short"
    lab.set_explanation("full")
    assert lab.status_text.endswith("external fragmentation") and lab.trace_view.layout.display is None
    lab.set_explanation("chatty")
    assert lab.status_text == "explanation 'chatty': accepted: brief, full" and lab.explanation == "full"


def test_brief_slab_status():
    lab = slab()
    lab.set_explanation("brief")
    lab.kmalloc(100, 3)
    assert lab.status_text == "kmalloc(100, GFP_KERNEL) x3 on cpu 0"


# ---------------------------------------------------------------------- side by side
def test_side_by_side_fresh_and_aged_buddy_labs_follow_the_left_controls():
    fresh = buddy()
    aged = BuddyLab(Machine.preset("linux-6.18-tiny", seed=1), seed=1, ops=["age 20000"])
    view = SideBySide(fresh, aged, titles=("fresh", "aged"))
    twin = BuddyLab(Machine.preset("linux-6.18-tiny", seed=1), seed=1, ops=["age 20000"])
    fresh.order.value, fresh.gfp.value = 9, "GFP_KERNEL"
    assert (aged.order.value, aged.gfp.value) == (9, "GFP_KERNEL") and aged.order.layout.display == "none"
    fresh.alloc_button.click()
    twin.allocate(9, "GFP_KERNEL")
    assert fresh.history.ops == ["alloc 9 GFP_KERNEL"] and fresh.held == [(0, 9)]
    assert aged.status_text == twin.status_text and aged.status_text.startswith("allocate order 9 failed")
    assert aged.history.ops == ["age 20000"], "the refused request is not in the aged lab's history"
    fresh.order.value = 2
    fresh.alloc_button.click()
    twin.allocate(2)
    assert lab_state(aged) == lab_state(twin) and aged.history.ops[-1] == "alloc 2 GFP_KERNEL"
    fresh.history_controls.undo_button.click()
    twin.undo()
    assert fresh.history.ops == ["alloc 9 GFP_KERNEL"] and lab_state(aged) == lab_state(twin)
    fresh.history_controls.explanation.value = "brief"
    assert aged.explanation == "brief"
    assert aged.history_controls.layout.display == "none"


def test_side_by_side_slub_and_slab_and_4_and_64_cpus():
    slub = SlabLab(Machine.preset("linux-6.18-tiny", nr_cpus=4))
    other = SlabLab(Machine.preset("linux-6.18-tiny", nr_cpus=64, slab_allocator="slab"))
    SideBySide(slub, other, titles=("SLUB, 4 CPUs", "SLAB, 64 CPUs"))
    slub.size.value, slub.count.value = 700, 20
    slub.kmalloc_button.click()
    assert slub.history.ops == ["kmalloc 700 x20 GFP_KERNEL cpu=0"] == other.history.ops
    assert "SLUB with 4 CPUs" in slub.header.value and "SLAB with 64 CPUs" in other.header.value
    slub.cpu.value = 3
    assert other.cpu.value == 3
    slub.kfree_button.click()
    assert slub.history.ops[-1] == other.history.ops[-1] == "kfree 20 cpu=3"
    assert len(slub.held) == len(other.held) == 0
    slub.history_controls.scrubber.value = 0
    assert other.history.position == 0 and other.held == []


def test_side_by_side_refuses_what_it_cannot_mirror():
    machine = Machine.preset("linux-6.18-tiny")
    with pytest.raises(InvalidArgument, match="two labs of one kind"):
        SideBySide(BuddyLab(machine), SlabLab(Machine.preset("linux-6.18-tiny")))
    lab = BuddyLab(machine)
    with pytest.raises(InvalidArgument, match="two machines"):
        SideBySide(lab, BuddyLab(machine))
    with pytest.raises(InvalidArgument, match="titles"):
        SideBySide(lab, buddy(), titles="a b")


# ---------------------------------------------------------------------- the other labs inherit it
def boot_lab():
    from kernelmem_widgets import BootLab
    return BootLab(Machine.preset("linux-6.18-x86_64", ram="2G", e820=True))


def contiguity_lab():
    from kernelmem_widgets import ContiguityLab
    return ContiguityLab(Machine.preset("linux-6.18-x86_64", ram="256M"))


def rtos_lab():
    from kernelmem_widgets import RtosLab
    return RtosLab(seed=0)


def model_of(lab):
    if hasattr(lab, "machine"):
        return state_digest(lab.machine), list(getattr(lab, "held", []))
    return state_digest(lab.heap), list(lab.held), lab.stepper.position


@pytest.mark.parametrize("make, ops, garbage", [
    (boot_lab, ["boot mem=1G", "map ioremap 0x40000000 1G", "map ioremap_wc 0xfd000000 16M", "unmap",
                "map memremap(MEMREMAP_WB) 0x1000 4K"], "map ioremap 0x1000 zz"),
    (contiguity_lab, ["run sequential 4M 4096", "mmap 4M", "touch", "fork", "child-write", "write", "munmap",
                      "mmap 2M thp=never", "write", "run random 2M 64 cpu=haswell"], "touch it"),
    (rtos_lab, ["step 5", "get pool-32", "allocator TLSF", "step 3", "run", "create allocator=partitions ram=32768",
                "step 7"], "create ram=12"),
], ids=["boot", "contiguity", "rtos"])
def test_every_lab_replays_exports_and_loads(make, ops, garbage):
    lab = make()
    states = [model_of(lab)]
    for op in ops:
        assert lab.load_ops(lab.export_ops() + "\n" + op), lab.status_text     # load appends one operation
        states.append(model_of(lab))
    assert len(lab.history) == len(ops)
    for position in (3, 0, len(ops), 1, len(ops) - 1, 2):
        assert lab.goto(position), lab.status_text
        assert model_of(lab) == states[position], f"step {position}"
    lab.goto(len(ops))
    other = make()
    assert other.load_ops(lab.export_ops()) and model_of(other) == states[-1]
    assert not other.load_ops("\n".join(ops[:2] + [garbage]))
    assert other.status_text.startswith(f"not loaded, the lab is unchanged: line 3 ('{garbage}')")
    assert other.accepted_ops in other.status_text and model_of(other) == states[-1]


def test_a_loaded_session_is_recorded_in_the_lab_s_own_words():
    lab = BuddyLab(Machine.preset("linux-6.18-tiny"))
    assert lab.load_ops("alloc 03\nalloc 0x2 GFP_DMA   # a comment\nfree 0X0 03\nage 0010")
    assert lab.history.ops == ["alloc 3 GFP_KERNEL", "alloc 2 GFP_DMA", "free 0x0 3", "age 10"]
    assert lab.status_text.startswith("loaded 4 operations: step 4 of 4; aged the machine (seed 0): 10 steps")
