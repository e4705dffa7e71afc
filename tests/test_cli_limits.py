"""The CLI on bad input: exit status 2 and one line on stderr, never a traceback (issue 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernelmem_widgets.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv,message", [
    (["--ram", "9" * 5000], "not a size"),
    (["--seed", "-1", "--age", "10"], "seed -1 is negative"),
    (["--ram", "1T"], "RAM up to 256 GiB in this kit"),
    (["--age", "2000000"], "0..1,000,000"),
    (["--fill", "nan", "--age", "5"], "between 0 and 1"),
    (["-A", "alloc 0b11"], "is not a number"),
])
def test_bad_input_exits_2_with_one_message(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1


def test_a_closed_pipe_ends_quietly():
    """``kernelmem ... | head -1``: the reader goes away, the CLI stops without a BrokenPipeError."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-m", "kernelmem_widgets.cli", "--age", "20000", "-c",
                                "--pagetypeinfo", "--preset", "linux-6.18-x86_64", "--ram", "64M"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    process.stdout.readline()
    process.stdout.close()
    _out, err = process.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err
    assert process.returncode in (0, 1)
