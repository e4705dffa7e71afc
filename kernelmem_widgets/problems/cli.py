"""``kernelmem problems`` and ``kernelmem grade``: problem sets, keys and grading from a terminal.

Examples::

    kernelmem problems 01 --seed 7                      # three problems, answers as ?
    kernelmem problems 01 --seed 7 -c                   # with the answers inline
    kernelmem problems 01 --seed 7 --key                # the answer key only
    kernelmem problems 02 --seed 7 --student alice      # alice's own variant
    kernelmem problems 01 --seed 7 --student alice --template > alice.txt   # a file to fill in
    kernelmem grade alice.txt                           # score it (recomputed from its header)
    kernelmem grade submissions/ --key key.json         # a class summary
    kernelmem problems 01 --seed 7 --nbgrader course    # course/source/ch01/ch01.ipynb for nbgrader
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..model.errors import KernelMemError
from . import CHAPTERS, FORMATS, problem_set
from .grade import grade, grade_folder, read_answers

__all__ = ["main", "SUBCOMMANDS"]

SUBCOMMANDS = ("problems", "grade")

#: ostep-style options, each passed to the chapter generator under its own name.
_GENERATOR_OPTIONS = (
    ("--ops", int, "chapter 01: operations per problem"),
    ("--free-ratio", float, "chapter 01: share of operations that free"),
    ("--orders", str, "chapter 01: orders to draw from, e.g. 0,1,2,3"),
    ("--gfp", str, "chapter 01: GFP masks to draw from, comma-separated"),
    ("--age", int, "chapter 01: age the machine first by this many workload steps"),
    ("--sizes", int, "chapter 02: kmalloc sizes per problem; chapter 06: ioremap sizes per problem"),
    ("--cpus", str, "chapter 02: CPU counts to draw from, e.g. 1,2,64"),
    ("--pages", int, "chapter 03: most pages a process maps or writes before fork"),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # exit status 2 with a message, as argparse does, but never a traceback
        self.print_usage(sys.stderr)
        raise SystemExit(f"{self.prog}: {message}") from None


def _problems_parser() -> argparse.ArgumentParser:
    chapters = ", ".join(f"{key} ({title})" for key, (_, title) in CHAPTERS.items())
    parser = _Parser(prog="kernelmem problems", description=f"Make a problem set. Chapters: {chapters}.")
    parser.add_argument("chapter", help="chapter number, e.g. 01")
    parser.add_argument("-s", "--seed", type=int, default=0, help="the course's seed (default 0)")
    parser.add_argument("-n", "--count", type=int, default=3, help="how many problems (default 3)")
    parser.add_argument("--student", default=None, help="a student id: derives that student's own problems")
    parser.add_argument("--format", choices=FORMATS, default="text", help="text, md (markdown) or json")
    parser.add_argument("-c", "--compute", action="store_true", help="show the answers inline instead of ?")
    parser.add_argument("--key", action="store_true", help="print only the answer key")
    parser.add_argument("--template", action="store_true", help="print an answer file to fill in")
    parser.add_argument("--nbgrader", metavar="COURSE_DIR", default=None,
                        help="write the set as an nbgrader source assignment under COURSE_DIR/source/")
    parser.add_argument("--name", default=None, help="with --nbgrader: the assignment's name (default chNN)")
    for flag, kind, text in _GENERATOR_OPTIONS:
        parser.add_argument(flag, type=kind, default=None, help=text)
    return parser


def _grade_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kernelmem grade", description="Grade an answer file, or a folder of them.")
    parser.add_argument("answers", help="an answer file (.json or .txt) or a folder of them")
    parser.add_argument("--key", default=None, help="a key from 'kernelmem problems ... --key --format json'")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def main(argv: list[str]) -> int:
    """Run ``problems`` or ``grade`` (``argv[0]``); 0 on success, 2 with a message on bad input."""
    command, rest = argv[0], argv[1:]
    try:
        if command == "problems":
            args = _problems_parser().parse_args(rest)
            print(_problems(args), end="")
        else:
            args = _grade_parser().parse_args(rest)
            print(_grade(args), end="")
    except KernelMemError as error:
        print(f"kernelmem {command}: {error}", file=sys.stderr)
        return 2
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
            return 2
        return exit_.code or 0
    return 0


def _problems(args) -> str:
    options = {flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
               for flag, _, _ in _GENERATOR_OPTIONS}
    options = {name: value for name, value in options.items() if value is not None}
    problems = problem_set(args.chapter, args.seed, student=args.student, count=args.count, **options)
    if args.template:
        return answer_template(problems)
    if args.nbgrader:
        from .nbgrader import export_assignment

        return f"wrote {export_assignment(problems, args.nbgrader, args.name)}\n"
    return problems.render(args.format, reveal=args.compute, key_only=args.key)


def answer_template(problems) -> str:
    """The text answer file of ``problems``, every answer blank: what a student fills in."""
    lines = [f"# kernelmem answers: fill in each part after its colon; grade with 'kernelmem grade FILE'",
             f"chapter: {problems.chapter}", f"seed: {problems.seed}"]
    if problems.student is not None:
        lines.append(f"student: {problems.student}")
    lines += [f"option {name}: {value}" for name, value in problems.options.items()]
    lines += [f"{part.label}: " for part in problems.parts()]
    return "\n".join(lines) + "\n"


def _grade(args) -> str:
    key = _read_key(args.key) if args.key else None
    target = Path(args.answers)
    if target.is_dir():
        summary = grade_folder(target, key)
        if args.format == "json":
            return json.dumps({"reports": [r.as_dict() for r in summary.reports], "refused": summary.errors},
                              indent=2) + "\n"
        return summary.render()
    report = grade(read_answers(target), key)
    return json.dumps(report.as_dict(), indent=2) + "\n" if args.format == "json" else report.render()


def _read_key(path: str) -> dict:
    from ..model.errors import InvalidArgument

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidArgument(f"{path}: not a key file ({error}); make one with 'kernelmem problems CHAPTER --seed S "
                              "--key --format json'") from None
