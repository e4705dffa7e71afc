"""Request traces, the metrics of a run, and the partition tuner."""

import numpy as np
import pytest

from kernelmem_widgets.model.errors import InvalidOperation
from kernelmem_widgets.model.rtos import (NanoMalloc, PartitionMalloc, Ram, RtosArgumentError, Tlsf, TraceStepper,
                                          bimodal_trace, parse_trace, protocol_stack_trace, run_trace, single_class,
                                          tune_partitions, uniform_trace)

BASE = 0x2000_0000


def test_literal_trace_round_trip_and_comments():
    trace = parse_trace("+100 +24  # two requests\n-0, +800\n-1 -2")
    assert trace.ops == (("malloc", 0, 100), ("malloc", 1, 24), ("free", 0, 0), ("malloc", 2, 800),
                         ("free", 1, 0), ("free", 2, 0))
    assert parse_trace(trace.to_text()).ops == trace.ops
    assert trace.histogram() == {24: 1, 100: 1, 800: 1}
    assert trace.peak_live_bytes() == 824 and trace.peak_live_count() == 2


@pytest.mark.parametrize("text, message", [("+100, x", "'x' is not an operation"), ("+1, -1, -1", "not live"),
                                           ("-0", "not live"), ("+-3", "not an operation"), ("+1.5", "not an")])
def test_garbage_traces(text, message):
    with pytest.raises(InvalidOperation, match=message):
        parse_trace(text)
    with pytest.raises(InvalidOperation):
        parse_trace(123)


@pytest.mark.parametrize("make", [uniform_trace, bimodal_trace, protocol_stack_trace])
def test_seeded_traces_are_deterministic_and_in_range(make):
    one, two, other = make(500, 3), make(500, 3), make(500, 4)
    assert one.ops == two.ops and one.ops != other.ops
    sizes = one.sizes()
    assert len(sizes) == 500 and sizes.min() >= 4 and sizes.max() <= 800
    assert one.live_bytes()[-1] == 0  # every allocation is freed by the end
    with pytest.raises(RtosArgumentError):
        make(-1, 0)


def test_run_metrics_on_a_hand_worked_trace():
    trace = parse_trace("+20, +100, +100, +100, -0, -3, +20")
    run = run_trace(PartitionMalloc(Ram(BASE, 1024), "32x4, 128x2"), trace)
    assert (run.served, run.failed) == (4, 1)
    assert run.first_failure == (3, 100, "pool-128 has no free block")
    assert run.waste.tolist() == [12, 12 + 28, 12 + 56, 68, 56, 56, 68]
    assert run.reserved_by_size == {20: [32, 32], 100: [128, 128]}
    assert run.free_bytes[0] == 3 * 32 + 2 * 128 and run.largest_free.tolist()[2] == 32
    assert run.worst_malloc_steps == 1 and "1 failed" in run.summary()


def test_stepper_reports_each_operation():
    stepper = TraceStepper(NanoMalloc(Ram(BASE, 256)), parse_trace("+20, -0"))
    assert stepper.step() == "#0 malloc(20) [id 0] = 0x20000008"
    assert stepper.step() == "#1 free(0x20000008) [id 0]"
    assert stepper.done


def test_one_block_size_wastes_and_the_heaps_fragment():
    trace = bimodal_trace(800, 1)
    single = single_class(trace)
    ram_bytes = 24 * 1024
    runs = {
        "single": run_trace(PartitionMalloc(Ram(BASE, ram_bytes), [single]), trace),
        "nano": run_trace(NanoMalloc(Ram(BASE, ram_bytes)), trace),
        "tlsf": run_trace(Tlsf(Ram(BASE, ram_bytes)), trace),
    }
    assert runs["single"].failed == 0
    # one 804-byte block for every request: most of each block is wasted
    assert runs["single"].peak_waste > 2 * trace.peak_live_bytes()
    assert runs["tlsf"].worst_malloc_steps <= 3 < runs["nano"].worst_malloc_steps


def test_tuner_hand_worked():
    result = tune_partitions(parse_trace("+20, +20, +20, +100, -0, -1, -2, -3"), 4096, max_classes=2)
    assert result.classes == ((24, 3), (104, 2)) and result.ram_bytes == 24 * 3 + 104 * 2 + 2 * 20
    one = tune_partitions(parse_trace("+20, +20, +20, +100, -0, -1, -2, -3"), 100, max_classes=1)
    assert one.classes == ((104, 4),) and not one.feasible


@pytest.mark.parametrize("seed", [0, 1])
def test_tuned_partitions_serve_the_trace_without_failure(seed):
    trace = protocol_stack_trace(1500, seed)
    result = tune_partitions(trace, 64 * 1024, max_classes=3)
    assert result.feasible and len(result.classes) == 3
    heap = PartitionMalloc(Ram(BASE, result.ram_bytes + 64), list(result.classes))
    run = run_trace(heap, trace)
    assert run.failed == 0
    # one block fewer in any class makes the trace fail: the counts are the exact peaks
    for index, (blk, count) in enumerate(result.classes):
        if count > 2:
            fewer = [c if i != index else (blk, count - 1) for i, c in enumerate(result.classes)]
            assert run_trace(PartitionMalloc(Ram(BASE, result.ram_bytes + 64), fewer), trace).failed > 0
    assert result.ram_bytes < single_class(trace)[0] * single_class(trace)[1]


def test_tuner_bad_input():
    with pytest.raises(RtosArgumentError):
        tune_partitions("+20", 100)
    with pytest.raises(RtosArgumentError):
        tune_partitions(parse_trace("+20"), -1)
    with pytest.raises(RtosArgumentError, match="no allocation"):
        tune_partitions(parse_trace(""), 100)
