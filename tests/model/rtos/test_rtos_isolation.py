"""The RTOS model runs without any Jupyter module: a fresh interpreter proves it (the layering test checks
that it imports no Linux layer)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, sys
import kernelmem_widgets.model.rtos as rtos
ram = rtos.Ram(size=1024)
rtos.run_trace(rtos.PartitionMalloc(ram, "32x4, 128x2"), rtos.parse_trace("+20, -0"))
names = sorted(sys.modules)
print(json.dumps({
    "jupyter": [n for n in names if n.split('.')[0] in ("ipywidgets", "bqplot", "IPython", "ipykernel", "traitlets",
                                                        "comm") or n.startswith("jupyter")],
}))
"""


def test_rtos_model_needs_no_jupyter():
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["jupyter"] == []
