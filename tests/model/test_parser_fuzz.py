"""Every parser reads any text in linear time and raises only named errors (issue 9, item 7-9).

Each parser gets real captures (cited below) and a seeded corpus of mutants: lines cut short,
deleted or repeated, junk characters inserted, numbers replaced by huge or negative ones, tabs
for spaces, CRLF line ends, runs of 50,000 spaces, binary bytes, and every one-character
mutant of a line.  Each input runs under a generous per-input alarm (``signal.setitimer``):
the test fails only if an input hangs, never on speed.  The outcome must be a result or a
:class:`KernelMemError` subclass; any builtin exception is a failure.

Real captures:

* buddyinfo: proc_buddyinfo(5), Linux man-pages 6.06 ("For example on an x86-64 system"),
  https://git.progress-linux.org/packages/graograman-backports/manpages-l10n/plain/upstream/fedora-rawhide/man5/proc_buddyinfo.5
* pagetypeinfo: "Proc - Page Type Info file", http://server1.sharewiz.net/doku.php?id=proc%3Apage_type_info_file
  (a pre-4.4 kernel: it still has the Reserve type)
* slabinfo: slabinfo(5), Linux man-pages 5.11,
  https://devdoc.net/linux/manpages-5.11-posix2017a_index/man5/slabinfo.5.html
"""

from __future__ import annotations

import random
import signal

import pytest

from contract_helpers import SCALE
from kernelmem_widgets.model import KernelMemError, Machine, procfs
from kernelmem_widgets.model.live import zone_from_buddyinfo
from kernelmem_widgets.model.page_alloc.gfp import parse_gfp
from kernelmem_widgets.model.units import memparse
from kernelmem_widgets.model.workload import Workload, parse_op

BUDDYINFO = ("Node 0, zone      DMA      1      1      1      0      2      1      1      0      1      1      3 \n"
             "Node 0, zone    DMA32     65     47      4     81     52     28     13     10      5      1    404 \n"
             "Node 0, zone   Normal    216     55    189    101     84     38     37     27      5      3    587 \n")

PAGETYPEINFO = """Page block order: 9
Pages per block:  512

Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 
Node    0, zone      DMA, type    Unmovable      0      0      0      1      1      1      1      1      1      1      0 
Node    0, zone      DMA, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 
Node    0, zone      DMA, type      Movable      1      1      2      1      2      1      1      0      1      0      2 
Node    0, zone      DMA, type      Reserve      0      0      0      0      0      0      0      0      0      1      0 
Node    0, zone      DMA, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 
Node    0, zone    DMA32, type    Unmovable    103     54     77      1      1      1     11      8      7      1      9 
Node    0, zone    DMA32, type  Reclaimable      0      0      2      1      0      0      0      0      1      0      0 
Node    0, zone    DMA32, type      Movable    169    152    113     91     77     54     39     13      6      1    452 
Node    0, zone    DMA32, type      Reserve      1      2      2      2      2      0      1      1      1      1      0 
Node    0, zone    DMA32, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 

Number of blocks type     Unmovable  Reclaimable      Movable      Reserve      Isolate 
Node 0, zone      DMA            2            0            5            1            0 
Node 0, zone    DMA32           41            6          967            2            0 
"""

SLABINFO = """slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
sigqueue             100    100    160   25    1 : tunables    0    0    0 : slabdata      4      4      0
sighand_cache        355    405   2112   15    8 : tunables    0    0    0 : slabdata     27     27      0
kmalloc-8192          96     96   8192    4    8 : tunables    0    0    0 : slabdata     24     24      0
"""

JUNK = ["-", ">", ",", ":", "x", "\x00", "\u00e9", "\u0663", "\t", "\r", "\x0b", "\u2028", "9" * 5000, "-5",
        " " * 1000, "0x10", "1_0", "\ufeff", "Node", "zone", "type"]
TIMEOUT = 5.0   # seconds per input: a linear parser needs milliseconds; only a hang reaches it


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang()


def run_bounded(parser, text):
    """Parse ``text`` under a per-input alarm; return ("ok", result) or ("refused", error)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        return "ok", parser(text)
    except KernelMemError as error:
        return "refused", error
    except Hang:
        pytest.fail(f"{parser.__name__} ran past {TIMEOUT} s on {text[:120]!r}... ({len(text):,} characters)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def mutants(text: str, seed: int, count: int):
    """The seeded mutation corpus of one real file."""
    rng = random.Random(seed)
    lines = text.splitlines(keepends=True)
    yield text
    yield text.replace("\n", "\r\n")
    yield text.replace(" ", "\t")
    yield text + " -"
    yield lines[-1].rstrip("\n") + " -" * 20
    yield text.replace(" ", " " * 50000, 1)
    yield " " * 50000 + "x"
    yield bytes(rng.randrange(256) for _ in range(4000)).decode("latin-1")
    yield text.encode("utf-16").decode("latin-1")
    for _ in range(count):
        kind = rng.randrange(7)
        if kind == 0:
            yield text[:rng.randrange(len(text))]
        elif kind == 1:
            copy = list(lines)
            del copy[rng.randrange(len(copy))]
            yield "".join(copy)
        elif kind == 2:
            copy = list(lines)
            copy.insert(rng.randrange(len(copy)), rng.choice(lines))
            yield "".join(copy)
        elif kind == 3:
            at = rng.randrange(len(text))
            yield text[:at] + rng.choice(JUNK) + text[at:]
        elif kind == 4:
            words = text.split(" ")
            at = rng.randrange(len(words))
            words[at] = rng.choice(["9" * 5000, "-1", "99999999999999999999999999", "1e9", "0x10", "\u0663"])
            yield " ".join(words)
        elif kind == 5:
            at = rng.randrange(len(text))
            yield text[:at] + chr(rng.randrange(0x20, 0x7F)) + text[at + 1:]
        else:
            yield "".join(rng.choice(lines) for _ in range(rng.randrange(1, 8)))


def _pagetypeinfo_then_zone(text):
    """What the live chapter does with a capture: parse it, then build a model zone from it."""
    parsed = procfs.parse_pagetypeinfo(text)
    for (node, zone, _type), _counts in list(parsed["free"].items())[:1]:
        by_type = {t: c for (n, z, t), c in parsed["free"].items() if (n, z) == (node, zone) and t != "Reserve"}
        width = max(len(c) for c in by_type.values())
        counts = [sum(c[o] if o < len(c) else 0 for c in by_type.values()) for o in range(width)]
        zone_from_buddyinfo(zone, counts, free_by_type=by_type, pageblock_order=min(parsed["pageblock_order"],
                                                                                      width - 1))
    return parsed


def _buddyinfo_then_zone(text):
    """Parse, then build the first line's zone (the capture's DMA: small, so the corpus stays fast)."""
    parsed = procfs.parse_buddyinfo(text)
    for (_node, zone), counts in list(parsed.items())[:1]:
        zone_from_buddyinfo(zone, counts, pageblock_order=min(9, len(counts) - 1))
    return parsed


PARSERS = [
    ("buddyinfo", _buddyinfo_then_zone, BUDDYINFO),
    ("pagetypeinfo", _pagetypeinfo_then_zone, PAGETYPEINFO),
    ("slabinfo", procfs.parse_slabinfo, SLABINFO),
]
MUTANTS = 300 * SCALE


@pytest.mark.parametrize("name,parser,capture", PARSERS, ids=[p[0] for p in PARSERS])
def test_real_capture_parses(name, parser, capture):
    status, result = run_bounded(parser, capture)
    assert status == "ok", result
    assert len(result) == {"buddyinfo": 3, "pagetypeinfo": 4, "slabinfo": 3}[name]


def test_captures_read_exactly():
    assert procfs.parse_buddyinfo(BUDDYINFO)[(0, "Normal")] == [216, 55, 189, 101, 84, 38, 37, 27, 5, 3, 587]
    parsed = procfs.parse_pagetypeinfo(PAGETYPEINFO)
    assert parsed["free"][(0, "DMA32", "Movable")][-1] == 452
    assert parsed["blocks"][(0, "DMA32")] == {"Unmovable": 41, "Reclaimable": 6, "Movable": 967, "Reserve": 2,
                                              "Isolate": 0}
    assert procfs.parse_slabinfo(SLABINFO)["sighand_cache"]["num_objs"] == 405


@pytest.mark.parametrize("name,parser,capture", PARSERS, ids=[p[0] for p in PARSERS])
def test_mutants_end_in_a_result_or_a_named_error(name, parser, capture):
    outcomes = {"ok": 0, "refused": 0}
    for text in mutants(capture, seed=len(name), count=MUTANTS):
        status, _ = run_bounded(parser, text)
        outcomes[status] += 1
    assert outcomes["ok"] + outcomes["refused"] == MUTANTS + 9
    assert outcomes["ok"] >= 1 and outcomes["refused"] >= MUTANTS // 10, outcomes


@pytest.mark.parametrize("name,parser,capture", PARSERS, ids=[p[0] for p in PARSERS])
def test_every_one_character_mutant_of_a_line(name, parser, capture):
    parser = {"buddyinfo": procfs.parse_buddyinfo, "pagetypeinfo": procfs.parse_pagetypeinfo}.get(name, parser)
    line = [line for line in capture.splitlines(keepends=True) if "Normal" in line or "DMA32" in line
            or "sighand" in line][0]
    header = "" if name == "buddyinfo" else capture[:capture.index(line)]
    for at in range(len(line)):
        for char in ("-", " ", "x", "9", "\t", ""):
            run_bounded(parser, header + line[:at] + char + line[at + 1:])


def test_huge_count_is_refused_not_built():
    """A count of 2**40 once made zone_from_buddyinfo() allocate 7.7 GB; now it is refused."""
    text = "Node 0, zone   Normal " + "      0" * 10 + f" {2 ** 40} \n"
    status, error = run_bounded(_buddyinfo_then_zone, text)
    assert status == "refused" and "more than this kit builds" in str(error)


def test_negative_and_unknown_values_are_refused():
    for text in ("Node 0, zone Normal -1 2 3\n", "Node 0, zone Normal 1 2 3\nNode 0, zone Normal 1 2 3\n",
                 "Node 0, zone Normal \u0663\n", "Node 0, zone Normal\n"):
        assert run_bounded(procfs.parse_buddyinfo, text)[0] == "refused", text
    assert run_bounded(procfs.parse_pagetypeinfo, PAGETYPEINFO.replace("Movable", "Mobile"))[0] == "refused"
    assert run_bounded(procfs.parse_pagetypeinfo, PAGETYPEINFO.replace(" 452 ", " x52 "))[0] == "refused"
    assert run_bounded(procfs.parse_slabinfo, SLABINFO.replace(" 355 ", " 999 "))[0] == "refused"  # active > num


@pytest.mark.parametrize("parser", [procfs.parse_buddyinfo, procfs.parse_pagetypeinfo, procfs.parse_slabinfo,
                                    memparse, parse_gfp, parse_op])
@pytest.mark.parametrize("value", [None, 0, 3.5, True, b"Node 0", ["a"], {}, object()])
def test_non_text_is_a_named_error(parser, value):
    if parser is parse_gfp and value == ["a"]:
        value = []
    if parser is memparse and isinstance(value, int) and not isinstance(value, bool):
        return  # memparse takes a byte count as an int
    status, _ = run_bounded(parser, value)
    assert status == "refused"


@pytest.mark.parametrize("parser,seed_text", [(memparse, "4 MiB"), (parse_gfp, "GFP_KERNEL | __GFP_ZERO"),
                                              (parse_op, "free 0x1200 3")])
def test_small_parsers_on_mutants(parser, seed_text):
    for text in mutants(seed_text + "\n", seed=7, count=MUTANTS):
        run_bounded(parser, text.rstrip("\n") if parser is not parse_op else text)


def test_render_then_parse_round_trips_an_aged_machine():
    machine = Machine.preset("linux-6.18-x86_64", ram="256M")
    Workload(machine, seed=5).age(3000)
    counts = procfs.parse_buddyinfo(procfs.render_buddyinfo(machine))
    assert counts == {(0, zone.name): [zone.nr_free(o) for o in range(11)] for zone in machine.zones}
    parsed = procfs.parse_pagetypeinfo(procfs.render_pagetypeinfo(machine))
    assert parsed["pageblock_order"] == 9
    machine.slab.kmalloc(100)
    assert "kmalloc-128" in procfs.parse_slabinfo(procfs.render_slabinfo(machine))
