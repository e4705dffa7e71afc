"""The model from a terminal, ostep-style: echo the parameters, pose the problem, ``-c`` answers.

Examples::

    kernelmem --preset linux-6.18-tiny -A "alloc 0,alloc 2,alloc 1"        # pfns shown as ?
    kernelmem --preset linux-6.18-tiny -A "alloc 0,alloc 2,alloc 1" -c     # with the answers
    kernelmem --preset linux-6.18-x86_64 --ram 4G --age 50000 --seed 7 -c  # buddyinfo after aging
    kernelmem problems 01 --seed 7 --student alice                         # a problem set (see problems/cli.py)
    kernelmem grade answers/                                               # grade a class's answer files
"""

from __future__ import annotations

import argparse
import os
import sys

from .model import KernelMemError, Machine, PRESETS, procfs
from .model.workload import MAX_STEPS, Workload, run_ops


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kernelmem", description="Simulate the Linux page allocator.")
    parser.add_argument("--preset", default="linux-6.18-tiny", choices=sorted(PRESETS), help="machine preset")
    parser.add_argument("--ram", default=None, help="RAM size, memparse syntax (16M, 4G), up to 256G; "
                        "default: the preset's")
    parser.add_argument("-s", "--seed", type=int, default=0, help="random seed of the workload")
    parser.add_argument("-A", "--ops", default="", help="comma-separated operations: 'alloc ORDER [GFP]', "
                        "'free PFN ORDER', 'compact [ZONE]', 'reset'")
    parser.add_argument("--age", type=int, default=0, metavar="STEPS",
                        help="age the machine first (a week of uptime); at most 1,000,000 steps")
    parser.add_argument("--fill", type=float, default=0.85, help="share of RAM the aging workload keeps in use")
    parser.add_argument("-c", "--compute", action="store_true", help="show the answers instead of ?")
    parser.add_argument("--pagetypeinfo", action="store_true", help="also print /proc/pagetypeinfo")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns 0, or 2 with a one-line message on stderr for input the model refuses.

    ``kernelmem problems ...`` and ``kernelmem grade ...`` go to :mod:`.problems.cli`.  Limits: RAM
    up to 256 GiB (``Machine``'s ``MAX_RAM``), ``--age`` up to 1,000,000 steps
    (``workload.MAX_STEPS``), 10,000 operations.  Output cut short by a closed pipe (``| head``)
    ends quietly.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("problems", "grade"):  # problem sets and grading: kernelmem_widgets.problems.cli
        from .problems.cli import main as problems_main

        return problems_main(argv)
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, and keep Python from complaining at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _run(args) -> int:
    if not 0 <= args.age <= MAX_STEPS:
        print(f"kernelmem: --age {args.age}: accepted: 0..{MAX_STEPS:,} steps", file=sys.stderr)
        return 2
    try:
        machine = Machine.preset(args.preset, ram=args.ram, seed=args.seed)
        ops = [op.strip() for op in args.ops.split(",") if op.strip()]
        print(f"ARG preset {args.preset}  ram {args.ram or machine.config.default_ram}  seed {args.seed}  "
              f"age {args.age}  ops {ops}")
        print(machine.describe(), end="\n\n")
        if args.age:
            print(Workload(machine, seed=args.seed, fill=args.fill).age(args.age).summary(), end="\n\n")
        for result in run_ops(machine, ops):
            print(result.line(reveal=args.compute))
        print("\n/proc/buddyinfo:" if args.compute else "\n/proc/buddyinfo: ? (use -c)")
        if args.compute:
            print(procfs.render_buddyinfo(machine), end="")
            if args.pagetypeinfo:
                print("\n/proc/pagetypeinfo:\n" + procfs.render_pagetypeinfo(machine), end="")
    except KernelMemError as error:
        print(f"kernelmem: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
