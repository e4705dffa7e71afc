"""Grading: an answer file is scored by rebuilding its problem set from the header it carries.

Answer files are JSON (``{"chapter": "01", "seed": 7, "student": "alice", "options": {...},
"answers": {"1.a": "0x400", ...}}``) or the text the notebook exports::

    chapter: 01
    seed: 7
    student: alice
    option count: 3
    1.a: 0x400
    1.b: fails

Each part earns one point; the feedback is the notebook's (:func:`kernelmem_widgets.exercises.answers.check_answer`).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..model.errors import InvalidArgument, KernelMemError
from ..exercises.answers import check_answer

__all__ = ["AnswerFile", "GradeReport", "read_answers", "grade", "grade_folder", "ClassSummary"]

MAX_FILE_BYTES = 1 << 20
_LABEL = re.compile(r"^\d+\.[a-z0-9]+$")


@dataclass(frozen=True)
class AnswerFile:
    """A student's submission: whose, for which problem set, and the answers by part label."""

    chapter: str
    seed: int
    student: str | None
    options: dict
    answers: dict[str, str]
    source: str = "<answers>"

    def header(self) -> dict:
        return {"chapter": self.chapter, "seed": self.seed, "student": self.student, "options": self.options}


@dataclass
class PartResult:
    label: str
    given: str | None
    correct: bool
    feedback: str


@dataclass
class GradeReport:
    student: str | None
    chapter: str
    seed: int
    parts: list[PartResult] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(part.correct for part in self.parts)

    @property
    def total(self) -> int:
        return len(self.parts)

    def by_problem(self) -> dict[str, tuple[int, int]]:
        scores: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for part in self.parts:
            entry = scores[part.label.split(".")[0]]
            entry[0] += part.correct
            entry[1] += 1
        return {number: (got, out_of) for number, (got, out_of) in scores.items()}

    def render(self) -> str:
        who = self.student if self.student is not None else "(no student id)"
        lines = [f"{who}: chapter {self.chapter} seed {self.seed}: {self.score}/{self.total}"]
        for number, (got, out_of) in self.by_problem().items():
            lines.append(f"  problem {number}: {got}/{out_of}")
        for part in self.parts:
            mark = "ok " if part.correct else "-- "
            shown = "(no answer)" if part.given is None else part.given
            lines.append(f"  {mark}{part.label:<5} {shown:<24} {'' if part.correct else part.feedback}".rstrip())
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict:
        return {"student": self.student, "chapter": self.chapter, "seed": self.seed, "score": self.score,
                "total": self.total, "problems": {k: list(v) for k, v in self.by_problem().items()},
                "parts": [part.__dict__ for part in self.parts]}


def read_answers(path) -> AnswerFile:
    """Read a JSON or text answer file; :class:`InvalidArgument` names the line that is wrong."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InvalidArgument(f"{path}: cannot read the answer file ({error.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidArgument(f"{path}: {len(raw):,} bytes; an answer file is at most {MAX_FILE_BYTES:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(f"{path}: not UTF-8 text; expected a JSON or text answer file") from None
    parsed = _parse_json(text, path) if text.lstrip().startswith("{") else _parse_text(text, path)
    return AnswerFile(**parsed, source=str(path))


def _parse_json(text: str, path: Path) -> dict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidArgument(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise InvalidArgument(f"{path}: expected an object with 'chapter', 'seed', 'student', 'options' and "
                              "'answers' ({label: answer})")
    answers = {str(label): value for label, value in data["answers"].items()}
    bad = [label for label, value in answers.items() if not _LABEL.match(label) or not isinstance(value, str)]
    if bad:
        raise InvalidArgument(f"{path}: answers must map part labels such as '1.a' to text; wrong: {', '.join(bad[:5])}")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise InvalidArgument(f"{path}: 'options' must be an object")
    return {"chapter": str(data.get("chapter", "")), "seed": _seed(data.get("seed"), path),
            "student": _student(data.get("student"), path), "options": options, "answers": answers}


def _parse_text(text: str, path: Path) -> dict:
    header: dict = {"options": {}}
    answers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep:
            raise InvalidArgument(f"{path}:{number}: expected 'label: answer' (1.a: 0x400) or a header line "
                                  f"(chapter:, seed:, student:, option NAME:), got {line[:60]!r}")
        if _LABEL.match(name):
            answers[name] = value
        elif name in ("chapter", "seed", "student"):
            header[name] = value
        elif name.startswith("option "):
            header["options"][name[7:].strip()] = _option_value(value)
        else:
            raise InvalidArgument(f"{path}:{number}: unknown field {name!r}; accepted: chapter, seed, student, "
                                  "option NAME, and part labels such as 1.a")
    return {"chapter": header.get("chapter", ""), "seed": _seed(header.get("seed"), path),
            "student": _student(header.get("student"), path), "options": header["options"], "answers": answers}


def _option_value(text: str):
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    if re.fullmatch(r"[0-9]*\.[0-9]+", text):
        return float(text)
    return text


def _seed(value, path: Path) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{path}: 'seed' is missing or not a whole number")
    return value


def _student(value, path: Path):
    if value in (None, "", "none"):
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{path}: 'student' must be text")
    return value


def grade(answers: AnswerFile, key: dict | None = None) -> GradeReport:
    """Score ``answers`` against their problem set, recomputed; a ``key`` (``--key --format json``)
    must be for the same set."""
    from . import problem_set

    options = dict(answers.options)
    count = options.pop("count", 3)
    try:
        problems = problem_set(answers.chapter, answers.seed, student=answers.student, count=count, **options)
    except KernelMemError as error:
        raise InvalidArgument(f"{answers.source}: its header names no problem set this kit can make: {error}") from None
    if key is not None:
        _check_key(key, problems, answers)
    known = {part.label for part in problems.parts()}
    stray = sorted(set(answers.answers) - known)
    if stray:
        raise InvalidArgument(f"{answers.source}: answers for parts this problem set does not have: "
                              f"{', '.join(stray[:8])} (it has {', '.join(sorted(known)[:4])}, ...)")
    report = GradeReport(answers.student, problems.chapter, problems.seed)
    for part in problems.parts():
        given = answers.answers.get(part.label)
        if given is None or not given.strip():
            report.parts.append(PartResult(part.label, None, False, "no answer"))
            continue
        verdict = check_answer(part.kind, part.answer, given, part.context)
        report.parts.append(PartResult(part.label, given, verdict.correct, verdict.feedback))
    return report


def _check_key(key: dict, problems, answers: AnswerFile) -> None:
    if not isinstance(key, dict) or not isinstance(key.get("key"), dict):
        raise InvalidArgument("the key file is not a key: make one with 'kernelmem problems CHAPTER --seed S --key "
                              "--format json'")
    mine = problems.header()
    theirs = {name: key.get(name) for name in mine}
    if theirs != mine:
        differ = [name for name in mine if theirs[name] != mine[name]]
        raise InvalidArgument(f"{answers.source} is for another problem set than the key: "
                              + "; ".join(f"{name} {mine[name]!r} in the answers, {theirs[name]!r} in the key"
                                          for name in differ))
    if key["key"] != problems.key():
        raise InvalidArgument("the key does not match what this version of kernelmem-widgets computes for its "
                              "problem set: regenerate it with 'kernelmem problems ... --key'")


@dataclass
class ClassSummary:
    reports: list[GradeReport]
    errors: list[str]

    def render(self) -> str:
        lines = [f"{len(self.reports)} answer file(s) graded" + (f", {len(self.errors)} refused" if self.errors else "")]
        for error in self.errors:
            lines.append(f"  refused: {error}")
        if not self.reports:
            return "\n".join(lines) + "\n"
        mean = sum(r.score / r.total for r in self.reports if r.total) / len(self.reports)
        lines.append(f"mean score {100 * mean:.0f} %")
        per_part: dict[str, list[PartResult]] = defaultdict(list)
        for report in self.reports:
            for part in report.parts:
                per_part[part.label].append(part)
        lines.append("part   right   most common mistakes")
        for label in sorted(per_part, key=_label_order):
            results = per_part[label]
            right = sum(r.correct for r in results)
            mistakes = Counter(r.feedback for r in results if not r.correct).most_common(2)
            shown = "; ".join(f"{text} ({n})" for text, n in mistakes)
            lines.append(f"{label:<6} {right:>3}/{len(results):<3} {shown}".rstrip())
        return "\n".join(lines) + "\n"


def _label_order(label: str):
    number, _, part = label.partition(".")
    return int(number), part


def grade_folder(folder, key: dict | None = None) -> ClassSummary:
    """Grade every ``*.json`` and ``*.txt`` file of ``folder``; files that cannot be graded are listed."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".txt") and p.is_file())
    if not files:
        raise InvalidArgument(f"{folder}: no .json or .txt answer files")
    reports, errors = [], []
    for path in files:
        try:
            reports.append(grade(read_answers(path), key))
        except InvalidArgument as error:
            errors.append(str(error))
    return ClassSummary(reports, errors)
