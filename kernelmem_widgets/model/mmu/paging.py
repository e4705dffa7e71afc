"""Paging modes of x86: how a virtual address is cut into table indexes.

* x86-64 4-level (``CONFIG_PGTABLE_LEVELS=4``): PGD 39, PUD 30, PMD 21, PTE 12, 9 bits each,
  8-byte entries; large leaves at the PUD (1 GiB, ``X86_FEATURE_GBPAGES``) and PMD (2 MiB).
  The P4D level is folded into the PGD (include/asm-generic/pgtable-nop4d.h).
* x86-64 5-level (LA57, ``CONFIG_X86_5LEVEL``): PGD 48, P4D 39, then as 4-level.
* i386 2-level (no PAE): PGD 22, PTE 12, 10 bits each, 4-byte entries, 4 MiB PSE leaves in the PGD
  (pud and pmd folded: pgtable-nopud.h, pgtable-nopmd.h).
* i386 PAE 3-level: PGD 30 (4 entries), PMD 21, PTE 12, 8-byte entries, 2 MiB leaves.

Entry bits are the hardware's (arch/x86/include/asm/pgtable_types.h, Linux 6.18): _PAGE_PRESENT
bit 0, _PAGE_RW 1, _PAGE_USER 2, _PAGE_PWT 3, _PAGE_PCD 4, _PAGE_ACCESSED 5, _PAGE_DIRTY 6,
_PAGE_PSE 7, _PAGE_GLOBAL 8, _PAGE_NX 63 (not in 2-level i386 entries).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownPreset

__all__ = ["Level", "PagingMode", "PAGING_MODES", "get_paging_mode",
           "_PAGE_PRESENT", "_PAGE_RW", "_PAGE_USER", "_PAGE_PWT", "_PAGE_PCD", "_PAGE_ACCESSED",
           "_PAGE_DIRTY", "_PAGE_PSE", "_PAGE_GLOBAL", "_PAGE_NX", "PAGE_KERNEL", "PAGE_KERNEL_RO",
           "PAGE_KERNEL_NOCACHE", "PAGE_TABLE", "describe_entry"]

_PAGE_PRESENT = 1 << 0
_PAGE_RW = 1 << 1
_PAGE_USER = 1 << 2
_PAGE_PWT = 1 << 3
_PAGE_PCD = 1 << 4
_PAGE_ACCESSED = 1 << 5
_PAGE_DIRTY = 1 << 6
_PAGE_PSE = 1 << 7
_PAGE_GLOBAL = 1 << 8
_PAGE_NX = 1 << 63

#: __PAGE_KERNEL (pgtable_types.h): present, RW, accessed, dirty, global, NX
PAGE_KERNEL = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL | _PAGE_NX
#: __PAGE_KERNEL_RO: PAGE_KERNEL without _PAGE_RW
PAGE_KERNEL_RO = PAGE_KERNEL & ~_PAGE_RW
#: PAGE_KERNEL_NOCACHE: _PAGE_CACHE_MODE_UC_MINUS -> PCD (with the default PAT layout)
PAGE_KERNEL_NOCACHE = PAGE_KERNEL | _PAGE_PCD
#: _PAGE_TABLE / _KERNPG_TABLE: what a non-leaf entry carries (present, RW, user, accessed, dirty)
PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY

_FLAG_NAMES = ((_PAGE_PRESENT, "P"), (_PAGE_RW, "RW"), (_PAGE_USER, "US"), (_PAGE_PWT, "PWT"),
               (_PAGE_PCD, "PCD"), (_PAGE_ACCESSED, "A"), (_PAGE_DIRTY, "D"), (_PAGE_PSE, "PSE"),
               (_PAGE_GLOBAL, "G"), (_PAGE_NX, "NX"))


@dataclass(frozen=True)
class Level:
    """One level of the tree: its kernel name, the address bit its index starts at, index width."""

    name: str
    shift: int
    bits: int
    leaf_ok: bool          # may an entry here map memory directly (PTE always, PMD/PUD/PGD with PSE)

    @property
    def entries(self) -> int:
        return 1 << self.bits

    @property
    def span(self) -> int:
        """Bytes one entry of this level covers."""
        return 1 << self.shift


@dataclass(frozen=True)
class PagingMode:
    """An x86 paging mode: its levels from the top (CR3 points at the first) to the PTE."""

    name: str
    levels: tuple[Level, ...]
    entry_size: int
    va_bits: int
    nx: bool
    source: str

    @property
    def page_shift(self) -> int:
        return self.levels[-1].shift

    def level(self, name: str) -> Level:
        for level in self.levels:
            if level.name == name:
                return level
        raise UnknownPreset(f"paging mode {self.name} has no {name!r} level; it has "
                            f"{', '.join(level.name for level in self.levels)}")

    def leaf_sizes(self) -> tuple[int, ...]:
        """Page sizes this mode can map, largest first (e.g. 1 GiB, 2 MiB, 4 KiB)."""
        return tuple(level.span for level in self.levels if level.leaf_ok)

    def canonical(self, virt: int) -> bool:
        """Does ``virt`` fit the mode: sign-extended from bit va_bits-1 on x86-64, < 4 GiB on i386."""
        if self.va_bits == 32:
            return 0 <= virt < 1 << 32
        top = virt >> (self.va_bits - 1)
        return 0 <= virt < 1 << 64 and top in (0, (1 << (65 - self.va_bits)) - 1)


def _x86_64(levels5: bool) -> PagingMode:
    top = (Level("pgd", 48, 9, False), Level("p4d", 39, 9, False)) if levels5 else (Level("pgd", 39, 9, False),)
    return PagingMode(
        name="x86_64-5level" if levels5 else "x86_64-4level",
        levels=top + (Level("pud", 30, 9, True), Level("pmd", 21, 9, True), Level("pte", 12, 9, True)),
        entry_size=8, va_bits=57 if levels5 else 48, nx=True,
        source="arch/x86/include/asm/pgtable_64_types.h: PGDIR_SHIFT 39 (48 with LA57), P4D_SHIFT 39, "
               "PUD_SHIFT 30, PMD_SHIFT 21, PTRS_PER_* 512")


PAGING_MODES: dict[str, PagingMode] = {
    "x86_64-4level": _x86_64(False),
    "x86_64-5level": _x86_64(True),
    "i386-2level": PagingMode(
        name="i386-2level", levels=(Level("pgd", 22, 10, True), Level("pte", 12, 10, True)),
        entry_size=4, va_bits=32, nx=False,
        source="arch/x86/include/asm/pgtable-2level_types.h: PGDIR_SHIFT 22, PTRS_PER_PGD 1024, PTRS_PER_PTE 1024"),
    "i386-pae": PagingMode(
        name="i386-pae", levels=(Level("pgd", 30, 2, False), Level("pmd", 21, 9, True), Level("pte", 12, 9, True)),
        entry_size=8, va_bits=32, nx=True,
        source="arch/x86/include/asm/pgtable-3level_types.h: PGDIR_SHIFT 30, PTRS_PER_PGD 4, PMD_SHIFT 21, "
               "PTRS_PER_PMD 512, PTRS_PER_PTE 512"),
}


def get_paging_mode(name: str | PagingMode) -> PagingMode:
    if isinstance(name, PagingMode):
        return name
    try:
        return PAGING_MODES[name]
    except (KeyError, TypeError):
        raise UnknownPreset(f"unknown paging mode {name!r}; accepted: {', '.join(PAGING_MODES)}") from None


def describe_entry(value: int) -> str:
    """An entry as ``pfn 0x1234 P RW A D`` (the flags set, in bit order)."""
    if not value & _PAGE_PRESENT:
        return "none" if value == 0 else f"not present ({value:#x})"
    pfn = (value & ((1 << 52) - 1)) >> 12
    return f"pfn {pfn:#x} " + " ".join(name for bit, name in _FLAG_NAMES if value & bit)
