#!/usr/bin/env python3
"""Checks the notebooks in this folder.

    python3 notebooks/check.py outputs-cleared
        Fails (exit 1) if a notebook has outputs or execution counts in any cell,
        naming the notebook and the cell. Committed notebooks carry no outputs.

    python3 notebooks/check.py clear
        Removes the outputs and execution counts of every notebook in place (the same
        as `jupyter nbconvert --clear-output --inplace notebooks/*.ipynb`).

    python3 notebooks/check.py run [NAME ...] [--timeout SECONDS] [--keep DIR]
        Executes every notebook (or the named ones) top to bottom with nbclient and the
        python3 kernel, in this folder so that `import eagain_nb` and the relative
        paths work. The committed files are never rewritten: the executed copies go to
        a temporary folder (or to --keep DIR), and so do the sweeps' outputs
        (EAGAIN_NB_OUT, unless it is already set). Prints one line per notebook and
        then "N passed, M failed"; exits 1 if any notebook raised.

The kernel comes from ipykernel (notebooks/requirements.txt); if no python3 kernel is
registered, `run` registers this interpreter's with `python3 -m ipykernel install --user`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def notebooks(names: list[str] | None = None) -> list[Path]:
    found = sorted(HERE.glob("*.ipynb"))
    if not names:
        return found
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        match = [p for p in found if p.stem == stem]
        if not match:
            sys.exit(f"check.py: no notebook {name!r} in {HERE} (there are: "
                     f"{', '.join(p.name for p in found)})")
        chosen += match
    return chosen


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def outputs_cleared() -> int:
    failed = 0
    paths = notebooks()
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        problems = []
        for index, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            what = []
            if cell.get("outputs"):
                what.append(f"{len(cell['outputs'])} output(s)")
            if cell.get("execution_count") is not None:
                what.append(f"execution_count {cell['execution_count']}")
            if what:
                first = "".join(cell.get("source", "")).strip().splitlines()[:1]
                problems.append(f"  cell {index} (id {cell.get('id', '?')}): {' and '.join(what)}"
                                f"{': ' + first[0][:60] if first else ''}")
        if problems:
            failed += 1
            print(f"FAIL {rel(path)}: outputs not cleared")
            print("\n".join(problems))
        else:
            print(f"ok   {rel(path)}: outputs cleared")
    if failed:
        print("clear them with: python3 notebooks/check.py clear")
    print(f"{len(paths) - failed} passed, {failed} failed")
    return 1 if failed else 0


def clear() -> int:
    for path in notebooks():
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                if cell.get("outputs") or cell.get("execution_count") is not None:
                    changed = True
                cell["outputs"] = []
                cell["execution_count"] = None
        if changed:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"cleared {rel(path)}")
    return 0


def ensure_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" in KernelSpecManager().find_kernel_specs():
        return
    print("no python3 kernel registered: python3 -m ipykernel install --user", flush=True)
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user"], check=True)


def first_line_of_error(exc: Exception) -> str:
    # nbclient's CellExecutionError carries ename and evalue; fall back to the text.
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    text = f"{ename}: {evalue}".strip()
    text = " ".join(text.split())
    # The command comes first and eagain's own message last: keep both ends.
    return text if len(text) <= 900 else f"{text[:300]} ... {text[-600:]}"


def run(names: list[str], timeout: int, keep: str | None) -> int:
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as e:
        sys.exit(f"check.py: {e}; install the notebooks' packages with "
                 "python3 -m pip install -r notebooks/requirements.txt")
    ensure_kernel()
    out_dir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="eagain-notebooks-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("EAGAIN_NB_OUT", str(out_dir / "output"))
    # The kernel draws figures with the inline backend; no display is needed.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    passed = failed = 0
    for path in notebooks(names):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}})
        start = time.monotonic()
        error = None
        try:
            client.execute()
        except CellExecutionError as e:
            error = e
        except Exception as e:  # a kernel that died or a cell that timed out
            error = e
        seconds = time.monotonic() - start
        executed = out_dir / path.name
        nbformat.write(nb, executed)
        if error is None:
            passed += 1
            print(f"ok   {path.name} ({seconds:.1f} s)", flush=True)
        else:
            failed += 1
            cell = next((i for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"
                         and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
            where = f" in cell {cell}" if cell is not None else ""
            print(f"FAIL {path.name} ({seconds:.1f} s){where}: {first_line_of_error(error)}", flush=True)
    print(f"executed copies: {out_dir}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("outputs-cleared", help="fail if any notebook has outputs or execution counts")
    sub.add_parser("clear", help="remove outputs and execution counts from every notebook")
    r = sub.add_parser("run", help="execute every notebook top to bottom into a temporary copy")
    r.add_argument("names", nargs="*", help="notebook names (default: all)")
    r.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    r.add_argument("--keep", help="write the executed notebooks and outputs here instead of a temporary folder")
    args = ap.parse_args()
    if args.command == "outputs-cleared":
        return outputs_cleared()
    if args.command == "clear":
        return clear()
    return run(args.names, args.timeout, args.keep)


if __name__ == "__main__":
    sys.exit(main())
