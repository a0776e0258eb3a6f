"""Shared helpers of the parity scripts (tools/parity/parity_*.py).

The scripts build the reference PyTorch modules of dangvansam/viet-tts (a local checkout, never
committed here) with random weights, save their state dicts the way upstream does, compile them
with the app's Go compiler (go run ./tools/parity/compilegraphs), run the graphs in ONNX Runtime,
and compare outputs. These helpers hold what every script needs: importing the reference, calling
the Go compiler, running ONNX Runtime, and the error table.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def add_reference(ref):
    """Makes the reference checkout importable (``import viettts...``) and checks it looks right."""
    ref = os.path.abspath(ref)
    if not os.path.isfile(os.path.join(ref, "viettts", "llm", "llm.py")):
        sys.exit(f"{ref} is not a viet-tts checkout (no viettts/llm/llm.py); pass --ref with the folder that holds viettts/")
    if ref not in sys.path:
        sys.path.insert(0, ref)
    return ref


def go_dims(preset="full"):
    """The compiler's dimension preset as a dict (compiler.Dims JSON)."""
    out = subprocess.run(["go", "run", "./tools/parity/compilegraphs", "-print-dims", preset],
                         cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def compile_graphs(args, log):
    """Runs the Go compiler (compilegraphs) with args; returns the seconds it took."""
    start = time.time()
    cmd = ["go", "run", "./tools/parity/compilegraphs"] + args
    log(" ".join(cmd))
    subprocess.run(cmd, cwd=REPO, check=True)
    return time.time() - start


def session(path, threads=0):
    """An ONNX Runtime CPU session for the graph at path."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def max_abs(a, b):
    """Largest absolute difference of two arrays of the same shape (inf on a shape mismatch)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)))


class Table:
    """Rows of (what, max abs error, tolerance) printed as a Markdown table."""

    def __init__(self):
        self.rows = []

    def add(self, what, err, tol, note=""):
        self.rows.append((what, err, tol, note))

    def ok(self):
        return all(err <= tol for _, err, tol, _ in self.rows)

    def markdown(self):
        lines = ["| output | max abs error | tolerance | result |", "|---|---|---|---|"]
        for what, err, tol, note in self.rows:
            res = "ok" if err <= tol else "FAIL"
            if note:
                res += f" ({note})"
            lines.append(f"| {what} | {err:.3g} | {tol:g} | {res} |")
        return "\n".join(lines)


def logger(prefix):
    start = time.time()

    def log(msg):
        print(f"[{prefix} {time.time() - start:7.1f}s] {msg}", file=sys.stderr, flush=True)
    return log
