"""Two machines in one view, one set of controls driving both: fresh vs aged, SLUB vs SLAB, 4 vs 64 CPUs.

:class:`SideBySide` takes two labs of one kind.  The left lab's controls stay; the right lab's are
hidden, and every choice made on the left (order, GFP mask, size, count, steps) is copied to the
right, and every button pressed on the left (allocate, free, age, kmalloc, undo, step back, ...)
is pressed on the right too.  Each lab keeps its own machine, status line, views and history, so
the same request can be watched succeeding on one machine and failing on the other.

Example (docs/views.md has more)::

    from kernelmem_widgets import BuddyLab, Machine, SideBySide
    SideBySide(BuddyLab(Machine.preset("linux-6.18-tiny"), seed=1),
               BuddyLab(Machine.preset("linux-6.18-tiny"), seed=1, ops=["age 20000"]),
               titles=("fresh", "after 20,000 steps of aging"))
"""

from __future__ import annotations

import ipywidgets as widgets
from traitlets import TraitError

from ..model.errors import InvalidArgument
from ..views.controls import plain_html

__all__ = ["SideBySide", "MIRRORED"]

#: For each lab kind: the value controls copied from left to right, and the buttons pressed on both.
MIRRORED = {
    "BuddyLab": (("order", "gfp", "age_steps"),
                 ("alloc_button", "free_button", "step_button", "age_button", "compact_button", "reset_button")),
    "SlabLab": (("size", "count", "gfp", "cpu", "vsize", "module_size", "module_rules"),
                ("kmalloc_button", "kfree_button", "kfree_random_button", "shrink_button", "reset_button",
                 "vmalloc_button", "vfree_button", "load_button", "unload_button")),
}
_HISTORY_BUTTONS = ("undo_button", "back_button", "forward_button")


class SideBySide(widgets.VBox):
    """Two labs of one kind, the left one's controls driving both.

    Parameters
    ----------
    left, right : BuddyLab or SlabLab (both the same kind)
    titles : (str, str)
        What each machine is ("fresh", "aged"), shown above it.

    Attributes
    ----------
    left, right : the labs
    """

    def __init__(self, left, right, *, titles: tuple[str, str] = ("left", "right")) -> None:
        kind = type(left).__name__
        if type(right) is not type(left) or kind not in MIRRORED:
            raise InvalidArgument(f"SideBySide takes two labs of one kind ({', '.join(MIRRORED)}), not "
                                  f"{kind} and {type(right).__name__}")
        if left is right or left.machine is right.machine:
            raise InvalidArgument("SideBySide needs two labs on two machines")
        if not (isinstance(titles, tuple) and len(titles) == 2 and all(isinstance(t, str) for t in titles)):
            raise InvalidArgument(f"titles {titles!r:.60}: accepted: two strings")
        self.left, self.right = left, right
        values, buttons = MIRRORED[kind]
        self._observers = []
        for name in values:
            source, target = getattr(left, name), getattr(right, name)
            handler = _copier(target)
            source.observe(handler, names="value")
            self._observers.append((source, handler))
            handler({"new": source.value})
            target.layout.display = "none"
        for name in buttons:
            self._mirror(getattr(left, name), getattr(right, name))
        for name in _HISTORY_BUTTONS:
            self._mirror(getattr(left.history_controls, name), getattr(right.history_controls, name))
        left.history_controls.scrubber.observe(self._scrubbed, names="value")
        left.history_controls.explanation.observe(lambda change: right.set_explanation(change["new"]), names="value")
        right.history_controls.layout.display = "none"
        heads = [widgets.HTML(f"<b>{plain_html(title)}</b>") for title in titles]
        for head in heads:
            head.add_class("kmw-side-title")
        half = widgets.Layout(flex="1 1 560px", min_width="480px", overflow="hidden")
        columns = widgets.HBox([widgets.VBox([heads[0], left], layout=half),
                                widgets.VBox([heads[1], right], layout=half)],
                               layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        super().__init__(children=[widgets.HTML("The controls on the left drive both machines."), columns])
        self.add_class("kmw-side-by-side")

    @staticmethod
    def _mirror(source: widgets.Button, target: widgets.Button) -> None:
        source.on_click(lambda _button: target.click())
        target.layout.display = "none"

    def _scrubbed(self, change) -> None:
        """The left scrubber moved: the right lab goes to the same step counted from its start."""
        if self.left.history_controls._quiet:
            return          # the lab moved its own scrubber (an action, undo): the mirrored button does the rest
        left, right = self.left.history, self.right.history
        position = right.base + int(change["new"]) - left.base
        if right.base <= position <= len(right) and position != right.position:
            self.right.goto(position)

    def close(self) -> None:
        for source, handler in getattr(self, "_observers", ()):   # a constructor that refused never set it
            source.unobserve(handler, names="value")
        super().close()


def _copier(target):
    def copy(change) -> None:
        try:
            if target.value != change["new"]:
                target.value = change["new"]
        except TraitError:
            pass  # a choice the other machine does not offer (cpu 10 of 4 CPUs): its control keeps its value
    return copy
