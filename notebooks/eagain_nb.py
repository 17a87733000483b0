"""Helpers the eagain notebooks share: find the binary, run it, read what it writes.

Every notebook calls `find_binary()` in its first code cell. Without a built eagain it
stops there with a message that says how to build it, instead of failing deep inside a
later cell.

The binary is looked for, in this order:
1. the environment variable EAGAIN_BIN;
2. ../target/release/eagain relative to this folder (what `cargo build --release`
   makes at the repository root);
3. `eagain` on PATH.

Commands run from the repository root, so model paths such as models/mmck.toml work
wherever the notebook server was started. What the sweeps write goes to
output/notebooks/NAME/ (git ignores output/), or to $EAGAIN_NB_OUT/NAME/ when that is set.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import matplotlib.ticker
import numpy as np
import pandas as pd

NOTEBOOK_DIR = Path(__file__).resolve().parent
REPO = NOTEBOOK_DIR.parent
MODELS = REPO / "models"
BUILT = REPO / "target" / "release" / "eagain"

BUILD_HINT = (
    "Build it with `cargo build --release` from the repository root "
    f"({REPO}); it is then found at target/release/eagain. "
    "Or set EAGAIN_BIN to the path of an eagain binary, or put eagain on PATH, "
    "and run the notebook again."
)


class EagainNotFound(RuntimeError):
    """The eagain binary is not built (or EAGAIN_BIN points at nothing)."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback: the message is the whole story.
        return [f"EagainNotFound: {self}"]


class EagainFailed(RuntimeError):
    """An eagain command exited non-zero; the message holds its stderr."""

    def _render_traceback_(self):
        return [f"EagainFailed: {self}"]


_binary: Path | None = None


def find_binary() -> Path:
    """The eagain binary, or EagainNotFound with how to build it."""
    global _binary
    env = os.environ.get("EAGAIN_BIN")
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise EagainNotFound(f"EAGAIN_BIN={env} is not an executable file. " + BUILD_HINT)
        _binary = path
        return path
    if BUILT.is_file() and os.access(BUILT, os.X_OK):
        _binary = BUILT
        return BUILT
    on_path = shutil.which("eagain")
    if on_path:
        _binary = Path(on_path)
        return _binary
    raise EagainNotFound(
        f"The eagain binary was not found: not at {BUILT}, not on PATH, and EAGAIN_BIN is not set. "
        + BUILD_HINT
    )


def binary() -> Path:
    return _binary or find_binary()


def version() -> str:
    return run("--version").strip()


def run_full(*args, check: bool = True) -> subprocess.CompletedProcess:
    """Runs `eagain ARGS...` from the repository root; returns stdout and stderr. With
    check, a non-zero exit raises EagainFailed carrying eagain's own message."""
    cmd = [str(binary()), *map(str, args)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if check and proc.returncode != 0:
        # The error is eagain's last paragraph; progress lines come before it.
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise EagainFailed(f"`{shlex.join(cmd)}` exited with {proc.returncode}:\n{tail}")
    return proc


def run(*args, check: bool = True) -> str:
    """Runs `eagain ARGS...` from the repository root and returns its stdout."""
    return run_full(*args, check=check).stdout


def _flags(set: dict | None = None, vary: dict | None = None, replications: int | None = None,
           seed: int | None = None) -> list[str]:
    out: list[str] = []
    for path, value in (set or {}).items():
        out += ["--set", f"{path}={value}"]
    for path, values in (vary or {}).items():
        if isinstance(values, (list, tuple)):
            values = ",".join(str(v) for v in values)
        out += ["--vary", f"{path}={values}"]
    if replications is not None:
        out += ["--replications", str(replications)]
    if seed is not None:
        out += ["--seed", str(seed)]
    return out


def model_path(model: str | Path) -> Path:
    """models/NAME.toml for a bare name such as "nginx-gunicorn", else the path itself."""
    p = Path(model)
    if p.suffix != ".toml":
        p = MODELS / f"{model}.toml"
    elif not p.is_absolute():
        p = REPO / p
    return p


def read_model(model: str | Path) -> dict:
    """The model file as a dict (the TOML as written, without eagain's defaults)."""
    with open(model_path(model), "rb") as f:
        return tomllib.load(f)


def output_dir(name: str) -> Path:
    root = Path(os.environ.get("EAGAIN_NB_OUT", REPO / "output" / "notebooks"))
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    return out


def simulate(model, set: dict | None = None, replications: int | None = None,
             seed: int | None = None) -> dict:
    """`eagain simulate MODEL --format json`, parsed."""
    text = run("simulate", model_path(model), *_flags(set, None, replications, seed), "--format", "json")
    return json.loads(text)


def sweep(model, vary: dict, name: str, set: dict | None = None, replications: int | None = None,
          seed: int | None = None) -> pd.DataFrame:
    """`eagain sweep` into output_dir(name); returns results.csv as a DataFrame whose
    attrs["out"] is the folder (it also holds results.json and the charts)."""
    out = output_dir(name)
    run("sweep", model_path(model), *_flags(set, vary, replications, seed), "--out", out)
    df = pd.read_csv(out / "results.csv")
    df.attrs["out"] = out
    return df


def plan(model, solve: str, target: str, set: dict | None = None,
         replications: int | None = None) -> tuple[float, str]:
    """`eagain plan`: the value on its last stdout line (PATH=VALUE) and the whole text."""
    text = run("plan", model_path(model), "--solve", solve, "--target", target,
               *_flags(set, None, replications))
    last = text.strip().splitlines()[-1]
    path, _, value = last.partition("=")
    if path != solve:
        raise EagainFailed(f"eagain plan ended with {last!r}, not {solve}=VALUE")
    number = float(value)
    return (int(number) if number.is_integer() else number), text


def analytic(kind: str, **kwargs) -> dict:
    """`eagain analytic KIND --key value ...` as a dict of its NAME=VALUE lines."""
    args = []
    for k, v in kwargs.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    out = {}
    for line in run("analytic", kind, *args).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def validate(model, vary: dict, name: str, set: dict | None = None, replications: int | None = None,
             runs: int | None = None, target: str = "builtin",
             max_lag_ms: float = 20.0) -> tuple[pd.DataFrame, float, str]:
    """`eagain validate --target TARGET` into output_dir(name): validation.csv as a
    DataFrame, the max_abs_error of its last stdout line, and what it printed (the
    progress lines of stderr, one per real run, then stdout). A notebook runs on
    whatever machine opens it (CI's too), so it lets the load generator fall up to
    20 ms behind its schedule before a run is repeated, not the command's 5 ms."""
    out = output_dir(name)
    extra = ["--runs", str(runs)] if runs is not None else []
    extra += ["--max-lag-ms", str(max_lag_ms)]
    proc = run_full("validate", model_path(model), "--target", target,
                    *_flags(set, vary, replications), *extra, "--out", out)
    text = proc.stderr + proc.stdout
    last = proc.stdout.strip().splitlines()[-1]
    key, _, value = last.partition("=")
    if key != "max_abs_error":
        raise EagainFailed(f"eagain validate ended with {last!r}, not max_abs_error=<x>")
    df = pd.read_csv(out / "validation.csv")
    df.attrs["out"] = out
    return df, float(value), text


def save(fig, name: str, file: str) -> Path:
    """Saves a matplotlib figure next to the sweep outputs, output_dir(name)/file."""
    path = output_dir(name) / file
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_probability(ax, df: pd.DataFrame, x: str, series: str | None = None,
                     metric: str = "refusal_probability", label: str | None = None,
                     floor: float | None = None):
    """Draws METRIC_mean against X on a log axis, one line per value of SERIES, with the
    95 % interval as a band. A log axis cannot show 0, so points where the mean is 0
    sit on a floor row (hollow markers), as in eagain's own capacity chart."""
    mean, lo, hi = f"{metric}_mean", f"{metric}_ci_low", f"{metric}_ci_high"
    positive = df.loc[df[mean] > 0, mean]
    if floor is None:
        floor = 10 ** (np.floor(np.log10(positive.min())) - 1) if len(positive) else 1e-4
    groups = [(None, df)] if series is None else list(df.groupby(series, sort=True))
    for value, g in groups:
        g = g.sort_values(x)
        name = label.format(value) if label and value is not None else (label or (f"{series}={value}" if series else metric))
        y = g[mean].where(g[mean] > 0)
        line, = ax.plot(g[x], y, marker="o", ms=4, label=name)
        if lo in g and g[lo].notna().any():
            ax.fill_between(g[x], g[lo].clip(lower=floor), g[hi].clip(lower=floor),
                            where=g[hi] > 0, color=line.get_color(), alpha=0.15, linewidth=0)
        zero = g[g[mean] <= 0]
        ax.plot(zero[x], np.full(len(zero), floor), linestyle="none", marker="o", ms=5,
                markerfacecolor="none", color=line.get_color())
    ax.set_yscale("log")
    ax.axhspan(floor / 1.6, floor * 1.6, color="0.92", zorder=0)
    ax.set_ylim(floor / 1.6, 1.3)
    decades = [10.0 ** e for e in range(int(np.round(np.log10(floor))) + 1, 1)]
    ax.set_yticks([floor] + decades, ["0 (none)"] + [f"{t:g}" for t in decades])
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel(x)
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(True, which="major", alpha=0.3)
    return ax
