"""The model never imports Jupyter: it must import and run where no widget library exists.

Importing `kernelmem_widgets.model` in a fresh interpreter must not load ipywidgets, bqplot,
IPython, ipykernel, traitlets, comm or any jupyter* module (the mesa rule in DESIGN.md).
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN_EXACT = ("ipywidgets", "bqplot", "IPython", "ipykernel", "traitlets", "comm",
                   "widgetsnbextension")
FORBIDDEN_PREFIX = ("jupyter",)  # jupyter_core, jupyter_client, jupyterlab, jupyterlab_widgets, ...

PROBE = f"""
import json, sys
before = set(sys.modules)
import kernelmem_widgets.model
exact, prefixes = {FORBIDDEN_EXACT!r}, {FORBIDDEN_PREFIX!r}
loaded = sorted(
    name for name in sys.modules
    if name.split('.')[0] in exact or name.split('.')[0].startswith(prefixes)
)
print(json.dumps({{"loaded": loaded, "preloaded": sorted(before & set(loaded))}}))
"""


def test_model_imports_without_any_jupyter_module():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, (
        "`import kernelmem_widgets.model` failed in a fresh interpreter "
        f"({sys.executable}), so isolation could not be checked:\n{proc.stderr[-4000:]}"
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["preloaded"], f"interpreter start-up already loaded {result['preloaded']}"
    assert not result["loaded"], (
        "kernelmem_widgets.model pulled in Jupyter/widget modules: "
        f"{result['loaded']}. The model must import only the standard library and numpy."
    )
