"""Remove saved widget state and widget-view outputs from a notebook; keep text outputs (nbval-lax compares them).

Usage: python tools/strip_notebook.py notebooks/NN_name.ipynb  (after executing it with nbconvert --execute --inplace)
"""
import sys
import nbformat

WIDGET = "application/vnd.jupyter.widget-view+json"
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
nb.metadata.pop("widgets", None)
for cell in nb.cells:
    if cell.cell_type != "code":
        continue
    kept = []
    for out in cell.outputs:
        data = out.get("data", {})
        if WIDGET in data:
            continue  # a widget view: meaningless without saved state, and its repr changes with versions
        if out.get("output_type") == "error":
            raise SystemExit(f"{path}: a cell raised: {out.get('ename')}: {out.get('evalue')}")
        kept.append(out)
    if "live" in cell.metadata.get("tags", []):
        kept = []  # the build machine's /proc says nothing about the reader's machine
        cell.execution_count = None
    cell.outputs = kept
    cell.metadata.pop("execution", None)
nbformat.validate(nb)
nbformat.write(nb, path)
print("stripped", path)
