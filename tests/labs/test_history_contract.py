"""A lab that mixes in HasHistory without the replay contract is refused when its class is defined."""

import pytest

from kernelmem_widgets.labs._history import HasHistory


def test_a_lab_without_the_replay_contract_is_refused_at_definition():
    with pytest.raises(TypeError, match=r"Half mixes in HasHistory but does not define _play, _reboot_lab"):
        class Half(HasHistory):
            def _check_op(self, op):
                return None


def test_every_lab_of_the_kit_meets_the_contract():
    from kernelmem_widgets import labs

    for name in ("BuddyLab", "SlabLab", "BootLab", "ContiguityLab", "RtosLab"):
        lab_class = getattr(labs, name)
        if issubclass(lab_class, HasHistory):
            assert all(callable(getattr(lab_class, n)) for n in HasHistory._CONTRACT), name
