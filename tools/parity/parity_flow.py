#!/usr/bin/env python3
"""Parity of the Go-compiled flow and HiFT graphs against VietTTS's PyTorch modules.

The reference modules of dangvansam/viet-tts are built with the real (full) dimensions and random
weights, saved with torch.save under their official key names (flow.pt, hift.pt with weight norm),
compiled by the app's Go compiler (inference/compiler, TestFlowParityCompile), and both sides run
on the same inputs:

  * flow_encoder: prompt + generated tokens, head/mid/tail interpolation (N > 40) and a short
    prompt-less case; mu and spks.
  * flow_estimator: one batch-2 call (row 1 unconditional, as the runtime calls it) at T = 50, 860.
  * hift: T = 37 and 431 frames, with the reference's own random draws (phase and sine noise)
    captured while it runs and fed to the graph; the f0 head is scaled so f0 lies in a speech range
    and the sine branch really runs (MODEL.md §13).

Usage (the reference checkout is never committed):
  python3 tools/parity/parity_flow.py --ref /path/to/viet-tts [--work /tmp/parity-flow]

Needs torch (CPU is fine), einops, diffusers (0.27; its Attention and LoRACompatibleLinear),
conformer, omegaconf, scipy, numpy < 2 for Debian's torch, and onnxruntime.
"""

import argparse
import math
import os
import subprocess
import sys
import time

import numpy as np

TOL = 1e-4

# Module sizes. "full" is the CosyVoice-300M-25Hz recipe VietTTS fine-tunes (MODEL.md §6, §7);
# "fixture" is the small model whose files and outputs are committed under
# inference/compiler/testdata for the Go tests (fixtureDims in flow_reference_test.go).
SIZES = {
    "full": dict(model=512, heads=8, ff=2048, blocks=6, lr=4, ch=256, down=2, mid=12, tb=4, ah=8,
                 ahd=64, base=512, rb_k=[3, 7, 11], rb_d=[[1, 3, 5]] * 3, src_k=[7, 11],
                 src_d=[[1, 3, 5]] * 2, f0ch=512),
    "fixture": dict(model=16, heads=2, ff=32, blocks=2, lr=2, ch=16, down=2, mid=1, tb=1, ah=2,
                    ahd=8, base=32, rb_k=[3, 7], rb_d=[[1, 3], [1, 3]], src_k=[7, 11],
                    src_d=[[1, 3], [1, 3]], f0ch=16),
}


def build_reference(ref, seed, size="full"):
    sys.path.insert(0, os.path.abspath(ref))
    import torch
    torch.manual_seed(seed)  # torch's own init of every module below
    from omegaconf import DictConfig
    from viettts.flow.decoder import ConditionalDecoder
    from viettts.flow.flow import MaskedDiffWithXvec
    from viettts.flow.flow_matching import ConditionalCFM
    from viettts.flow.length_regulator import InterpolateRegulator
    from viettts.hifigan.f0_predictor import ConvRNNF0Predictor
    from viettts.hifigan.generator import HiFTGenerator
    from viettts.transformer.encoder import ConformerEncoder

    z = SIZES[size]
    encoder = ConformerEncoder(
        input_size=z["model"], output_size=z["model"], attention_heads=z["heads"],
        linear_units=z["ff"], num_blocks=z["blocks"],
        dropout_rate=0.1, positional_dropout_rate=0.1, attention_dropout_rate=0.1,
        normalize_before=True, input_layer="linear", pos_enc_layer_type="rel_pos_espnet",
        selfattention_layer_type="rel_selfattn", use_cnn_module=False, macaron_style=False)
    estimator = ConditionalDecoder(
        in_channels=320, out_channels=80, channels=[z["ch"]] * z["down"], dropout=0.0,
        attention_head_dim=z["ahd"], n_blocks=z["tb"], num_mid_blocks=z["mid"], num_heads=z["ah"],
        act_fn="gelu")
    cfm = ConditionalCFM(
        in_channels=240, n_spks=1, spk_emb_dim=80,
        cfm_params=DictConfig({"sigma_min": 1e-6, "solver": "euler", "t_scheduler": "cosine",
                               "training_cfg_rate": 0.2, "inference_cfg_rate": 0.7,
                               "reg_loss_type": "l1"}),
        estimator=estimator)
    flow = MaskedDiffWithXvec(
        input_size=z["model"], output_size=80, spk_embed_dim=192, output_type="mel", vocab_size=4096,
        input_frame_rate=25, only_mask_loss=True, encoder=encoder,
        length_regulator=InterpolateRegulator(channels=80, sampling_ratios=[1] * z["lr"]),
        decoder=cfm)
    hift = HiFTGenerator(
        in_channels=80, base_channels=z["base"], nb_harmonics=8, sampling_rate=22050, nsf_alpha=0.1,
        nsf_sigma=0.003, nsf_voiced_threshold=10, upsample_rates=[8, 8],
        upsample_kernel_sizes=[16, 16], istft_params={"n_fft": 16, "hop_len": 4},
        resblock_kernel_sizes=z["rb_k"], resblock_dilation_sizes=z["rb_d"],
        source_resblock_kernel_sizes=z["src_k"], source_resblock_dilation_sizes=z["src_d"],
        lrelu_slope=0.1, audio_limit=0.99,
        f0_predictor=ConvRNNF0Predictor(num_class=1, in_channels=80, cond_channels=z["f0ch"]))
    return torch, flow.eval(), hift.eval()


def randomize(torch, flow, hift, seed):
    """Torch's own init, plus: 1-D parameters (norm scales, biases, Snake alphas) moved off their
    constant init so every one of them matters, and the f0 head rescaled so that on log-mel-like
    inputs f0 = |classifier(·)| is spread over 0-200 Hz: most frames voiced (the sine branch
    runs, MODEL.md §13), some below the 10 Hz threshold (the unvoiced noise branch runs too)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in (flow, hift):
            for name, p in module.named_parameters():
                if p.dim() == 1 and not name.endswith("weight_g"):
                    p.add_(torch.rand(p.shape, generator=g) * 0.2 - 0.1)
        f0p = hift.f0_predictor
        probe = torch.randn((1, 80, 400), generator=g) * 1.5 - 5
        pre = (f0p.condnet(probe).transpose(1, 2) @ f0p.classifier.weight.T).flatten()
        f0p.classifier.weight.mul_(40 / pre.std())
        f0p.classifier.bias.copy_(30 - pre.median() * 40 / pre.std())


def interp_matrix(n_in, n_out):
    """Weights of F.interpolate(mode='linear', align_corners=False) from n_in to n_out: (n_in, n_out)."""
    m = np.zeros((n_in, n_out), np.float32)
    scale = n_in / n_out
    for j in range(n_out):
        src = max((j + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        m[i0, j] += 1 - lam
        m[i1, j] += lam
    return m


def flow_interp(P, N, mel_len1, mel_len2, rate=25):
    """The host's interpolation matrix for prompt P + generated N tokens (MODEL.md §6.2)."""
    edge = int(20 / rate * 22050 / 256)
    m = np.zeros((P + N, mel_len1 + mel_len2), np.float32)
    if P:
        m[:P, :mel_len1] = interp_matrix(P, mel_len1)
    off = mel_len1
    if N > 40:
        parts = [(0, 20, edge), (20, N - 20, mel_len2 - 2 * edge), (N - 20, N, edge)]
    else:
        parts = [(0, N, mel_len2)]
    for a, b, n in parts:
        m[P + a:P + b, off:off + n] = interp_matrix(b - a, n)
        off += n
    return m


def ref_flow_encoder(torch, flow, tokens, xvec, P, mel_len1):
    """mu (1,80,T) and spks (1,80) of the reference for prompt P + generated tokens, and the
    interpolation matrix the graph gets."""
    N = tokens.shape[1] - P
    mel_len2 = int(N / 25 * 22050 / 256)
    with torch.no_grad():
        tok = torch.from_numpy(tokens)
        spks = flow.spk_embed_affine_layer(torch.nn.functional.normalize(torch.from_numpy(xvec), dim=1))
        h, _ = flow.encoder(flow.input_embedding(torch.clamp(tok, min=0)), torch.tensor([P + N]))
        h = flow.encoder_proj(h)
        mu, _ = flow.length_regulator.inference(h[:, :P], h[:, P:], mel_len1, mel_len2, 25)
    return mu.transpose(1, 2).numpy(), spks.numpy(), flow_interp(P, N, mel_len1, mel_len2)


def ref_estimator(torch, flow, x, mask, mu, t, spks, cond):
    with torch.no_grad():
        return flow.decoder.estimator(*(torch.from_numpy(a) for a in (x, mask, mu, t, spks, cond))).numpy()


def ref_hift(torch, hift, mel):
    """The reference waveform for mel, with the random draws it made (phase (1,1,9), sine noise
    (1,L,9) in the graph's layout) captured while it ran, and its f0."""
    from torch.distributions.uniform import Uniform
    draws, normals = [], []
    sample, randn_like = Uniform.sample, torch.randn_like

    def rec_sample(self, *a, **k):
        r = sample(self, *a, **k)
        draws.append(r)
        return r

    def rec_randn_like(x, *a, **k):
        r = randn_like(x, *a, **k)
        normals.append(r)
        return r

    Uniform.sample, torch.randn_like = rec_sample, rec_randn_like
    try:
        with torch.no_grad():
            f0 = hift.f0_predictor(torch.from_numpy(mel)).numpy()
            wav, _ = hift.inference(torch.from_numpy(mel))
    finally:
        Uniform.sample, torch.randn_like = sample, randn_like
    phase = draws[0].numpy().reshape(1, 1, 9).astype(np.float32)  # element 0 zeroed by upstream
    noise = next(n for n in normals if n.dim() == 3 and n.shape[1] == 9)
    noise = np.ascontiguousarray(noise.numpy().transpose(0, 2, 1)).astype(np.float32)
    return wav.numpy(), phase, noise, f0


def estimator_case(rng, T):
    x = rng.standard_normal((2, 80, T)).astype(np.float32)
    mask = np.ones((2, 1, T), np.float32)
    mu = rng.standard_normal((2, 80, T)).astype(np.float32)
    mu[1] = 0
    t = np.full((2,), 0.2929, np.float32)
    spks = rng.standard_normal((2, 80)).astype(np.float32)
    spks[1] = 0
    cond = np.zeros((2, 80, T), np.float32)
    cond[0, :, : T // 3] = rng.standard_normal((80, T // 3))
    return x, mask, mu, t, spks, cond


def write_fixtures(torch, flow, hift, out, seed):
    """Small reference files for the Go tests: weights rounded to float16 (stored so, to keep the
    files small; the reference then runs on exactly those values in float32), and inputs with
    the reference's outputs in float32."""
    os.makedirs(out, exist_ok=True)
    with torch.no_grad():
        for m in (flow, hift):
            for p in m.parameters():
                p.copy_(p.half().float())
    # flow.pt in two parts (the estimator's tensors, the rest) to keep each file small
    sd = flow.state_dict()
    torch.save({k: v.half() for k, v in sd.items() if not k.startswith("decoder.")},
               os.path.join(out, "ref_flow_encoder.pt"))
    torch.save({k: v.half() for k, v in sd.items() if k.startswith("decoder.")},
               os.path.join(out, "ref_flow_estimator.pt"))
    torch.save({k: v.half() for k, v in hift.state_dict().items()}, os.path.join(out, "ref_hift.pt"))
    rng = np.random.default_rng(seed)
    io = {}
    P, N, mel_len1 = 5, 45, 12
    tokens = rng.integers(0, 4096, size=(1, P + N)).astype(np.int64)
    xvec = (rng.standard_normal((1, 192)) * 3).astype(np.float32)
    mu, spks, interp = ref_flow_encoder(torch, flow, tokens, xvec, P, mel_len1)
    io.update(enc_token=tokens.astype(np.float32), enc_interp=interp, enc_spk_emb=xvec, enc_mu=mu, enc_spks=spks)
    case = estimator_case(rng, 24)
    for name, a in zip(("x", "mask", "mu", "t", "spks", "cond"), case):
        io["est_" + name] = a
    io["est_out"] = ref_estimator(torch, flow, *case)
    torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in io.items()}, os.path.join(out, "ref_flow_io.pt"))
    mel = (rng.standard_normal((1, 80, 12)) * 1.5 - 5).astype(np.float32)
    wav, phase, noise, f0 = ref_hift(torch, hift, mel)
    print(f"fixture hift: f0 {f0.min():.0f}-{f0.max():.0f} Hz, voiced {(f0 > 10).mean():.0%}")
    torch.save({k: torch.from_numpy(v) for k, v in dict(mel=mel, phase_noise=phase, sine_noise=noise, wav=wav).items()},
               os.path.join(out, "ref_hift_io.pt"))
    for f in sorted(os.listdir(out)):
        if f.startswith("ref_"):
            print(f"{f}: {os.path.getsize(os.path.join(out, f)):,} bytes")


def err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise SystemExit(f"shape mismatch: graph {a.shape}, reference {b.shape}")
    return float(np.abs(a - b).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", required=True, help="local checkout of dangvansam/viet-tts")
    ap.add_argument("--work", default="/tmp/viettts-parity-flow", help="folder for flow.pt, hift.pt and the graphs")
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."),
                    help="the VietTTS Studio checkout whose compiler is tested")
    ap.add_argument("--seed", type=int, default=1986)
    ap.add_argument("--threads", type=int, default=0, help="torch and onnxruntime threads (0: default)")
    ap.add_argument("--parts", default="flow_encoder,flow_estimator,hift",
                    help="comma-separated graphs to compare (all are compiled)")
    ap.add_argument("--fixtures", metavar="DIR",
                    help="instead of comparing, write the small reference files of the Go tests to DIR "
                         "(inference/compiler/testdata)")
    args = ap.parse_args()
    if args.fixtures:
        torch, flow, hift = build_reference(args.ref, args.seed, "fixture")
        randomize(torch, flow, hift, args.seed)
        write_fixtures(torch, flow, hift, args.fixtures, args.seed)
        return 0
    os.makedirs(args.work, exist_ok=True)
    parts = set(args.parts.split(","))

    torch, flow, hift = build_reference(args.ref, args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    randomize(torch, flow, hift, args.seed)
    torch.save(flow.state_dict(), os.path.join(args.work, "flow.pt"))
    torch.save(hift.state_dict(), os.path.join(args.work, "hift.pt"))
    print(f"saved flow.pt and hift.pt in {args.work}", flush=True)

    t0 = time.time()
    env = dict(os.environ, VIETTTS_PARITY_DIR=os.path.abspath(args.work))
    subprocess.run(["go", "test", "./inference/compiler/", "-run", "^TestFlowParityCompile$", "-count=1",
                    "-v", "-timeout", "60m"], cwd=os.path.abspath(args.repo), env=env, check=True)
    print(f"compiled in {time.time() - t0:.0f} s", flush=True)

    import onnxruntime as ort
    so = ort.SessionOptions()
    if args.threads:
        so.intra_op_num_threads = args.threads

    def session(name):
        return ort.InferenceSession(os.path.join(args.work, name), so, providers=["CPUExecutionProvider"])

    rng = np.random.default_rng(args.seed)

    class Rows(list):
        def append(self, row):
            super().append(row)
            print(f"{row[0]}: max abs error {row[1]:.2e} (reference up to {row[2]:.3g})", flush=True)

    rows = Rows()

    # flow encoder ---------------------------------------------------------------------------
    enc = session("flow_encoder.onnx") if "flow_encoder" in parts else None
    for P, N, mel_len1 in [(60, 140, 207), (0, 30, 0)] if enc else []:
        tokens = rng.integers(0, 4096, size=(1, P + N)).astype(np.int64)
        xvec = rng.standard_normal((1, 192)).astype(np.float32) * 3
        mu_ref, spks_ref, interp = ref_flow_encoder(torch, flow, tokens, xvec, P, mel_len1)
        mu, spks = enc.run(["mu", "spks"], {"token": tokens, "interp": interp, "spk_emb": xvec})
        rows.append((f"flow_encoder mu (S={P + N}, T={interp.shape[1]})", err(mu, mu_ref), float(np.abs(mu_ref).max())))
        rows.append((f"flow_encoder spks (S={P + N})", err(spks, spks_ref), float(np.abs(spks_ref).max())))

    # flow estimator -------------------------------------------------------------------------
    est = session("flow_estimator.onnx") if "flow_estimator" in parts else None
    for T in (50, 860) if est else ():
        case = estimator_case(rng, T)
        t1 = time.time()
        ref = ref_estimator(torch, flow, *case)
        t2 = time.time()
        (out,) = est.run(["estimator_out"], dict(zip(("x", "mask", "mu", "t", "spks", "cond"), case)))
        t3 = time.time()
        print(f"estimator T={T}: torch {t2 - t1:.1f} s, onnxruntime {t3 - t2:.1f} s", flush=True)
        rows.append((f"flow_estimator (B=2, T={T})", err(out, ref), float(np.abs(ref).max())))

    # HiFT -----------------------------------------------------------------------------------
    voc = session("hift.onnx") if "hift" in parts else None
    for T in (37, 431) if voc else ():
        mel = (rng.standard_normal((1, 80, T)) * 1.5 - 5).astype(np.float32)
        wav_ref, phase, sine_noise, f0 = ref_hift(torch, hift, mel)
        (wav,) = voc.run(["wav"], {"mel": mel, "phase_noise": phase, "sine_noise": sine_noise})
        print(f"hift T={T}: f0 {f0.min():.0f}-{f0.max():.0f} Hz, voiced {(f0 > 10).mean():.0%}", flush=True)
        rows.append((f"hift (T={T}, {256 * T} samples)", err(wav, wav_ref), float(np.abs(wav_ref).max())))

    print()
    print("| graph | max abs error | max abs reference |")
    print("|---|---|---|")
    bad = 0
    for name, e, scale in rows:
        print(f"| {name} | {e:.2e} | {scale:.3g} |")
        bad += e > TOL
    print()
    print(f"{len(rows) - bad} passed, {bad} failed (tolerance {TOL:g})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
