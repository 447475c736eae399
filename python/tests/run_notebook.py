"""Executes a notebook headless (nbclient) and checks its figures: every code cell tagged `figure`, and every
cell that calls `plt.show()`, must have produced an image/png output of nonzero size.

    python3 python/tests/run_notebook.py examples/notebooks/green-tradeoffs.ipynb [--out executed.ipynb]

Exit code 0 when the notebook ran without error and every figure is there; 1 otherwise.
"""

import argparse
import base64
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def png_sizes(cell):
    sizes = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/png" in data:
            sizes.append(len(base64.b64decode(data["image/png"])))
    return sizes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--out", type=Path, help="write the executed notebook here")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = ap.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(args.notebook.resolve().parent)}},
    )
    start = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as e:
        print(f"FAIL: {args.notebook} raised in a cell:\n{e}", file=sys.stderr)
        return 1
    finally:
        if args.out:
            nbformat.write(nb, args.out)
    elapsed = time.monotonic() - start

    problems = []
    figures = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        wants_figure = "figure" in cell.get("metadata", {}).get("tags", []) or "plt.show()" in cell.source
        sizes = png_sizes(cell)
        if any(s == 0 for s in sizes):
            problems.append(f"cell {i}: an empty image/png output")
        if wants_figure:
            if not sizes:
                problems.append(f"cell {i}: expected a figure, found no image/png output")
            figures += len(sizes)
    if figures == 0:
        problems.append("no figures at all")
    for p in problems:
        print(f"FAIL: {args.notebook}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"notebook OK: {args.notebook} ran in {elapsed:.1f} s, {figures} figure(s), every one non-empty")
    return 0


if __name__ == "__main__":
    sys.exit(main())
