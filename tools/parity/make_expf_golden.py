#!/usr/bin/env python3
"""Writes inference/compiler/testdata/torch_expf.bin: float32 pairs (x, torch.exp(x)), little-endian.

The arguments are the frequency exponents of the relative positional tables of widths 256, 512
and 1024 (what RelPositionTable needs) plus 2,000 seeded random values in [-80, 80]. The Go test
TestTorchExpfMatchesTorch checks torchExpf against them bit for bit. Run with any torch on an x86
CPU (torch uses SLEEF's expf there):

    python3 tools/parity/make_expf_golden.py
"""
import math
import os

import numpy as np
import torch

xs = [torch.arange(0, d, 2, dtype=torch.float32) * -(math.log(10000.0) / d) for d in (256, 512, 1024)]
g = torch.Generator().manual_seed(1986)
xs.append(torch.empty(2000).uniform_(-80, 80, generator=g))
x = torch.cat(xs)
pairs = torch.stack([x, torch.exp(x)], dim=1).numpy().astype("<f4")
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "inference", "compiler", "testdata", "torch_expf.bin")
pairs.tofile(out)
print(f"{len(pairs)} pairs, torch {torch.__version__} -> {os.path.normpath(out)}")
