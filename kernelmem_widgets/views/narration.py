"""What a lab's status line says: each action and each failure, in words and in the kernel's terms."""

from __future__ import annotations

import re

from ..model.errors import (AllocationError, BadPageState, InvalidOperation, InvalidOrder, KernelMemError,
                            PfnOutOfRange, UnknownGfpFlag, UnknownMigrateType)
from ..model.events import Event
from ..model.page_alloc.mmzone import MIGRATETYPE_NAMES
from ..model.page_alloc.preview import AllocationPreview
from .palette import order_label, size_label

__all__ = ["describe_allocation", "describe_preview_source", "describe_split_take", "describe_split_half",
           "describe_free", "describe_error", "describe_moves", "error_kind"]

_ERROR_KINDS = (
    (InvalidOrder, "invalid order"),
    (UnknownGfpFlag, "unknown GFP flag"),
    (UnknownMigrateType, "unknown migrate type"),
    (PfnOutOfRange, "pfn out of range"),
    (InvalidOperation, "unreadable operation"),
    (AllocationError, "page allocation failure"),
    (BadPageState, "bad page state"),
)


def error_kind(error: KernelMemError) -> str:
    """A model error's class in words (the class name spelt out when no kinder words are known).

    >>> error_kind(BadPageState("BUG: Bad page state: pfn 0x0: ..."))
    'bad page state'
    >>> from kernelmem_widgets.model.errors import InvalidArgument
    >>> error_kind(InvalidArgument("x"))
    'invalid argument'
    """
    known = next((words for kind, words in _ERROR_KINDS if isinstance(error, kind)), None)
    return known or re.sub(r"(?<!^)(?=[A-Z])", " ", type(error).__name__).lower()


def describe_error(action: str, error: KernelMemError) -> str:
    """``allocate order 10 failed (page allocation failure): ...``, the kind said once.

    >>> from kernelmem_widgets.model.errors import AllocationError
    >>> describe_error("allocate order 10", AllocationError("page allocation failure: order:10, ..."))
    'allocate order 10 failed: page allocation failure: order:10, ...'
    """
    kind, text = error_kind(error), str(error)
    if text.lower().startswith(kind) or kind in text.lower()[:80]:
        return f"{action} failed: {text}"
    return f"{action} failed ({kind}): {text}"


def _type_name(migratetype: int) -> str:
    return MIGRATETYPE_NAMES[migratetype]


def _halves_text(preview: AllocationPreview) -> str:
    return ", ".join(f"{pfn:#x} (order {order})" for pfn, order in preview.halves())


def describe_preview_source(preview: AllocationPreview) -> str:
    """Where the block comes from and how ``expand()`` splits it, e.g. for the status line."""
    block = f"the order-{preview.block_order} {_type_name(preview.list_migratetype)} block at {preview.pfn:#x}"
    wanted = _type_name(preview.migratetype)
    if preview.path == "__rmqueue_claim":
        source = (f"no {wanted} block of order >= {preview.order} is free, so __rmqueue_claim() took {block} "
                  f"and claimed its pageblock(s) for {wanted}")
    elif preview.path == "__rmqueue_steal":
        source = (f"no block could be claimed, so __rmqueue_steal() took {block}, whose pageblock stays "
                  f"{_type_name(preview.list_migratetype)} (a fragmenting fallback)")
    else:
        source = f"__rmqueue_smallest() took {block} from the head of its free list"
    if preview.block_order == preview.order:
        return source + "; no split was needed"
    return (f"{source}; expand() split it and put {_halves_text(preview)} on the "
            f"{_type_name(preview.split_migratetype)} free lists")


def describe_allocation(pfn: int, order: int, gfp: str, zone: str, preview: AllocationPreview | None,
                        events: list[Event], page_size: int = 4096) -> str:
    """``allocated order 3 (32 KiB) at pfn 0x1200 in zone Normal ...`` with where the block came from."""
    head = f"allocated {order_label(order, page_size)} at pfn {pfn:#x} in zone {zone} ({gfp})"
    if preview is not None and preview.known and preview.pfn == pfn and preview.zone == zone:
        return f"{head}: {describe_preview_source(preview)}"
    notes = []
    compactions = [event for event in events if event.kind == "mm_compaction_end"]
    if compactions:
        moved = sum(len(event.data.get("moved", {})) for event in compactions)
        notes.append(f"the fast path failed; direct compaction migrated {moved} blocks first")
    for event in events:
        if event.kind == "mm_page_alloc_extfrag":
            notes.append(f"a fallback took an order-{event['fallback_order']} "
                         f"{_type_name(event['fallback_migratetype'])} block at {event['pfn']:#x}")
    if preview is not None and not preview.known and preview.reason:
        notes.append(preview.reason)
    return head + (": " + "; ".join(notes) if notes else "")


def describe_split_take(preview: AllocationPreview, step_count: int, page_size: int = 4096) -> str:
    """Step 1 of a split walk: the block ``__rmqueue()`` will take."""
    where = f"free_area[{preview.block_order}].free_list[{_type_name(preview.list_migratetype)}]"
    text = (f"step 1 of {step_count}: {preview.path}() will take the order-{preview.block_order} block at "
            f"{preview.pfn:#x} ({size_label(page_size << preview.block_order)}) from the head of {where} "
            f"for an order-{preview.order} request ({size_label(page_size << preview.order)}) in zone {preview.zone}")
    if preview.path == "__rmqueue_claim":
        text += (f" (no {_type_name(preview.migratetype)} block was free: the block's pageblock(s) change to "
                 f"{_type_name(preview.migratetype)})")
    elif preview.path == "__rmqueue_steal":
        text += f" (a fallback: its pageblock stays {_type_name(preview.list_migratetype)})"
    return text


def describe_split_half(preview: AllocationPreview, step: int, step_count: int, page_size: int = 4096) -> str:
    """One ``expand()`` step: an upper half goes to its free list, the lower half is kept."""
    half_pfn, half_order = preview.halves()[step - 2]
    return (f"step {step} of {step_count}: expand() puts the upper half {half_pfn:#x} "
            f"({size_label(page_size << half_order)}) at the head of "
            f"free_area[{half_order}].free_list[{_type_name(preview.split_migratetype)}] and keeps the lower half "
            f"{preview.pfn:#x} (order {half_order})")


def describe_free(pfn: int, order: int, zone, merged: tuple[int, int] | None, held: bool,
                  page_size: int = 4096) -> str:
    """``freed order 0 at pfn 0x5 ...`` and what the block merged into."""
    text = f"freed {order_label(order, page_size)} at pfn {pfn:#x} in zone {zone.name}"
    if merged is not None:
        merged_pfn, merged_order = merged
        list_type = _type_name(zone.pageblock_migratetype(merged_pfn))
        if merged_order > order:
            text += (f"; __free_one_page() merged it with its free buddies into the free order-{merged_order} "
                     f"block at {merged_pfn:#x} ({list_type} list)")
        elif order < zone.max_page_order:
            text += (f"; its buddy {pfn ^ (1 << order):#x} is not free, so it stays an order-{order} block on the "
                     f"{list_type} free list")
    if not held:
        text += " (not a block you allocated in this lab: whoever allocated it still holds its pfn)"
    return text


def describe_moves(moved: dict[int, int], held: list[tuple[int, int]]) -> str:
    """Which of the reader's blocks compaction migrated."""
    yours = [(old, new) for old, new in moved.items() if any(pfn == new for pfn, _ in held)]
    if not yours:
        return "none of your blocks moved"
    shown = ", ".join(f"{old:#x} -> {new:#x}" for old, new in yours[:8])
    more = f" and {len(yours) - 8} more" if len(yours) > 8 else ""
    return f"{len(yours)} of your blocks moved: {shown}{more}"
