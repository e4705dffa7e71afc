"""The real aged buddyinfo fixture and the side-by-side comparison."""

from kernelmem_widgets.exercises.real_captures import REAL_AGED_BUDDYINFO, compare_buddyinfo, free_share_by_order
from kernelmem_widgets.model import Machine, procfs
from kernelmem_widgets.model.workload import Workload


def test_fixture_is_a_buddyinfo_line_with_nothing_above_order_4():
    counts = procfs.parse_buddyinfo(REAL_AGED_BUDDYINFO)[(1, "Normal")]
    assert counts == [426212, 143208, 42644, 13656, 1167, 0, 0, 0, 0, 0, 0]
    assert procfs.render_buddyinfo.__doc__ and REAL_AGED_BUDDYINFO.startswith("Node 1, zone   Normal ")


def test_share_by_order():
    assert free_share_by_order([2, 1, 0]) == [0.5, 0.5, 0.0]
    assert free_share_by_order([0, 0]) == [0.0, 0.0]


def test_an_aged_machine_has_the_real_shape_below_order_4():
    machine = Machine.preset("linux-6.18-x86_64", ram="8G")
    Workload(machine, seed=1).age()
    text = compare_buddyinfo(machine)
    assert text.splitlines()[-1].endswith("(node 1, zone Normal)")
    model = free_share_by_order([machine.zone("Normal").nr_free(order) for order in range(11)])
    assert sum(model[:4]) > 0.75  # like the real 98 %: most free memory below order 4
    assert sum(model[9:]) < 0.05
