"""Execute notebooks/explore.ipynb top to bottom, headless, against the reference, offline; fail when a cell fails.

    python -m tools.maintainer.notebook_run [--output executed.ipynb] [--images DIR] [--katas]

The notebook's one switch, `REFERENCE = False`, is set to True in memory (--katas keeps your katas/);
the data set is the notebook's own default, scikit-learn's bundled digits, so nothing is downloaded.
Fails (exit 1) when a cell raises, when fewer figures appear than the notebook draws, or when the whole run
takes longer than --limit seconds (120). The committed notebook is never written: --output and --images
put the executed copy and its figures elsewhere, to look at.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
import time
from pathlib import Path

from tools.manifest import ROOT

NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
SWITCH = re.compile(r"^REFERENCE = False\b", re.M)
FIGURES = 4  # curves, misclassified digits, confusion matrix, first-layer weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.maintainer.notebook_run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK, help="the notebook (notebooks/explore.ipynb)")
    parser.add_argument("--katas", action="store_true", help="run it on katas/ as committed, not on the reference")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds the whole run may take (120)")
    parser.add_argument("--output", type=Path, help="write the executed notebook here")
    parser.add_argument("--images", type=Path, help="write its figures here as PNG files")
    args = parser.parse_args(argv)
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(args.notebook, as_version=4)
    switches = [cell for cell in nb.cells if cell.cell_type == "code" and SWITCH.search(cell.source)]
    if len(switches) != 1:
        print(f"{args.notebook}: expected one code cell with the line `REFERENCE = False`; found {len(switches)}.")
        return 1
    if not args.katas:
        switches[0].source = SWITCH.sub("REFERENCE = True", switches[0].source)
    client = NotebookClient(
        nb, timeout=int(args.limit), kernel_name="python3", resources={"metadata": {"path": str(args.notebook.parent)}}
    )
    start = time.monotonic()
    failed = None
    try:
        client.execute()
    except CellExecutionError as error:
        failed = str(error)
    seconds = time.monotonic() - start
    pngs = [
        output["data"]["image/png"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, args.output)
    if args.images:
        args.images.mkdir(parents=True, exist_ok=True)
        for number, png in enumerate(pngs, start=1):
            (args.images / f"figure-{number}.png").write_bytes(base64.b64decode(png))
    track = "katas/" if args.katas else "the reference"
    if failed is not None:
        print(f"{args.notebook.name} on {track}: a cell failed after {seconds:.1f} s:\n{failed}")
        return 1
    if len(pngs) < FIGURES:
        print(f"{args.notebook.name} on {track}: {len(pngs)} figure(s) appeared; it draws {FIGURES}.")
        return 1
    if seconds > args.limit:
        print(
            f"{args.notebook.name} on {track}: every cell ran, but in {seconds:.1f} s, over the {args.limit:g} s limit."
        )
        return 1
    print(f"{args.notebook.name} on {track}: all {len(nb.cells)} cells ran, {len(pngs)} figures, {seconds:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
