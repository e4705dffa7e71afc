"""What a problem set is: problems made of parts, each part a question with one right answer.

A problem set is a pure function of (chapter, seed, student, options): the CLI, the notebook and
the grader rebuild the same set from those values, so a key never needs to travel with the
student's copy and an answer file is graded by recomputing it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from ..model.errors import InvalidArgument

__all__ = ["Part", "Problem", "ProblemSet", "student_seed", "FORMATS", "check_count", "check_seed", "with_defaults",
           "draw_problems", "part_label", "chapter_generator"]

FORMATS = ("text", "md", "json")

#: The most problems one set may hold, and the largest seed: a bound a class never meets.
MAX_COUNT = 100
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Part:
    """One question of a problem: ``label`` such as ``"2.c"``, the ``kind`` of answer it expects
    (see :mod:`.answers`), the ``prompt`` a student reads and the right ``answer``."""

    label: str
    kind: str
    prompt: str
    answer: object
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A scenario (``setup`` lines a student reads first) and its parts."""

    number: int
    title: str
    setup: tuple[str, ...]
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class ProblemSet:
    """Everything needed to pose, answer and grade one student's problems."""

    chapter: str
    seed: int
    student: str | None
    options: dict
    problems: tuple[Problem, ...]

    @property
    def effective_seed(self) -> int:
        """The seed the problems were drawn with: ``seed``, or the per-student one."""
        return self.seed if self.student is None else student_seed(self.student, self.seed)

    def parts(self) -> list[Part]:
        return [part for problem in self.problems for part in problem.parts]

    def key(self) -> dict[str, str]:
        """``{label: answer as a person would write it}`` for every part."""
        from ..exercises.answers import format_answer

        return {part.label: format_answer(part.kind, part.answer) for part in self.parts()}

    def header(self) -> dict:
        """The identity of the set: what an answer file must repeat to be graded against it."""
        return {"chapter": self.chapter, "seed": self.seed, "student": self.student, "options": self.options}

    def render(self, fmt: str = "text", *, reveal: bool = False, key_only: bool = False) -> str:
        """The problems (``?`` for answers unless ``reveal``), or only the key, as text, markdown or json."""
        if fmt not in FORMATS:
            raise InvalidArgument(f"unknown format {fmt!r}; accepted: {', '.join(FORMATS)}")
        if fmt == "json":
            return self._render_json(reveal=reveal or key_only, key_only=key_only)
        key = self.key()
        lines = [self._title_line(fmt, key_only)]
        for problem in self.problems:
            if not key_only:
                lines += ["", f"## Problem {problem.number}: {problem.title}" if fmt == "md"
                          else f"Problem {problem.number}: {problem.title}"]
                lines += [("    " + line) if fmt == "md" else ("  " + line) for line in problem.setup]
                if fmt == "md":
                    lines.append("")
            for part in problem.parts:
                answer = key[part.label] if (reveal or key_only) else "?"
                prompt = "" if key_only else f"{part.prompt}  "
                lines.append(f"- **{part.label}** {prompt}-> {answer}" if fmt == "md"
                             else f"  {part.label:<5} {prompt}-> {answer}")
        return "\n".join(lines) + "\n"

    def _title_line(self, fmt: str, key_only: bool) -> str:
        who = f" student {self.student}" if self.student is not None else ""
        opts = " ".join(f"{name}={value}" for name, value in sorted(self.options.items()))
        title = f"kernelmem {'answer key' if key_only else 'problems'}: chapter {self.chapter} seed {self.seed}{who}"
        title += f" ({opts})" if opts else ""
        return f"# {title}" if fmt == "md" else title

    def _render_json(self, *, reveal: bool, key_only: bool) -> str:
        data = self.header()
        if key_only:
            data["key"] = self.key()
        else:
            key = self.key()
            data["problems"] = [
                {"number": p.number, "title": p.title, "setup": list(p.setup),
                 "parts": [{"label": part.label, "kind": part.kind, "prompt": part.prompt,
                            **({"answer": key[part.label]} if reveal else {})} for part in p.parts]}
                for p in self.problems]
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    def as_dict(self) -> dict:
        return asdict(self)


def student_seed(student: str, seed: int) -> int:
    """A stable per-student seed: the same id and course seed always give the same problems,
    two ids practically never the same (sha256 of both, 63 bits)."""
    if not isinstance(student, str) or not student.strip() or len(student) > 200 or "\n" in student:
        raise InvalidArgument(f"student id {student!r}: expected a non-empty one-line string of at most 200 "
                              "characters (a login, a matriculation number)")
    digest = hashlib.sha256(f"kernelmem-widgets:{check_seed(seed)}:{student.strip()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise InvalidArgument(f"seed {seed!r}: expected a whole number from 0 to {MAX_SEED}")
    seed = seed.__index__()
    if not 0 <= seed <= MAX_SEED:
        raise InvalidArgument(f"seed {seed}: expected a whole number from 0 to {MAX_SEED}")
    return seed


def check_count(count, *, most: int = MAX_COUNT, what: str = "count") -> int:
    if isinstance(count, bool) or not hasattr(count, "__index__"):
        raise InvalidArgument(f"{what} {count!r}: expected a whole number from 1 to {most}")
    count = count.__index__()
    if not 1 <= count <= most:
        raise InvalidArgument(f"{what} {count}: expected a whole number from 1 to {most}")
    return count


def with_defaults(chapter: str, raw: dict, options: dict) -> dict:
    """``raw`` options over a generator's ``{name: (default, help)}``; unknown names are refused."""
    unknown = sorted(set(raw) - set(options))
    if unknown:
        raise InvalidArgument(f"unknown option(s) {', '.join(unknown)} for chapter {chapter}; accepted: "
                              f"{', '.join(options)}")
    return {name: raw.get(name, default) for name, (default, _) in options.items()}


def draw_problems(seed: int, count: int, make_problem) -> list:
    """``count`` problems, each from a seed of its own drawn from ``seed``: ``make_problem(number, seed)``."""
    rng = np.random.default_rng(seed)
    return [make_problem(number, int(rng.integers(2**32))) for number in range(1, count + 1)]


def chapter_generator(read_options, make_problem):
    """A chapter's ``generate(seed, count, raw_options) -> (options as used, problems)``: the options read by
    ``read_options(raw)`` (which refuses unknown or bad ones), then ``make_problem(number, seed, options)``
    for each problem, each with a seed of its own drawn from ``seed``."""

    def generate(seed: int, count: int, raw_options: dict) -> tuple[dict, list]:
        options = read_options(raw_options)
        return options, draw_problems(seed, count, lambda number, drawn: make_problem(number, drawn, options))

    generate.__doc__ = "The options as used, and ``count`` problems drawn from ``seed``."
    return generate


def part_label(number: int, step: int) -> str:
    """``"2.c"``: problem 2, its third part (``"2.27"`` past the alphabet)."""
    return f"{number}.{chr(ord('a') + step)}" if step < 26 else f"{number}.{step + 1}"
