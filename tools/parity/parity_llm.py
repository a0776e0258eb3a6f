#!/usr/bin/env python3
"""LLM parity: the app's llm_prefill/llm_decode graphs against viet-tts's TransformerLM.

Builds the reference TransformerLM of dangvansam/viet-tts (ConformerEncoder text encoder,
TransformerEncoder LLM, configured as CosyVoice-300M's cosyvoice.yaml) with random weights, saves
its state dict as llm.pt, compiles it with the app's Go compiler, and runs the prefill plus N
decode steps in ONNX Runtime. The reference runs its own TransformerLM.inference loop with a
sampling function that forces the same speech tokens the graphs are fed, so both sides see
identical inputs; its attention caches are recorded from llm.forward_chunk. Every log-probability
vector and cache row is compared; fp32 passes at max abs error <= 1e-4.

    python3 tools/parity/parity_llm.py --ref /tmp/viet-tts [--size full|small] [--steps 24]

Needs torch (Debian's python3-torch 1.13 works), numpy, onnxruntime (PyPI) and Go. See
tools/parity/README.md.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paritylib as pl  # noqa: E402

TOL = 1e-4


def small_dims(full):
    """Reduced widths and depths for a quick check; vocabularies and the 5000-position table stay."""
    d = json.loads(json.dumps(full))
    d["llm"].update(text_embed=128, model=256, heads=4, ff=512, text_encoder_blocks=2, blocks=3)
    return d


def build_reference(dims, seed):
    import torch
    from viettts.llm.llm import TransformerLM
    from viettts.transformer.encoder import ConformerEncoder, TransformerEncoder

    torch.manual_seed(seed)
    l = dims["llm"]
    text_encoder = ConformerEncoder(
        input_size=l["text_embed"], output_size=l["model"], attention_heads=l["heads"],
        linear_units=l["ff"], num_blocks=l["text_encoder_blocks"], dropout_rate=0.1,
        positional_dropout_rate=0.1, attention_dropout_rate=0.0, normalize_before=True,
        input_layer="linear", pos_enc_layer_type="rel_pos_espnet",
        selfattention_layer_type="rel_selfattn", use_cnn_module=False, macaron_style=False,
        use_dynamic_chunk=False, use_dynamic_left_chunk=False, static_chunk_size=1)
    llm = TransformerEncoder(
        input_size=l["model"], output_size=l["model"], attention_heads=l["heads"],
        linear_units=l["ff"], num_blocks=l["blocks"], dropout_rate=0.1,
        positional_dropout_rate=0.1, attention_dropout_rate=0.0, input_layer="linear_legacy",
        pos_enc_layer_type="rel_pos_espnet", selfattention_layer_type="rel_selfattn",
        static_chunk_size=1)
    model = TransformerLM(
        text_encoder_input_size=l["text_embed"], llm_input_size=l["model"],
        llm_output_size=l["model"], text_token_size=l["text_vocab"],
        speech_token_size=dims["speech_tokens"], text_encoder=text_encoder, llm=llm,
        sampling=None, length_normalized_loss=True, lsm_weight=0,
        spk_embed_dim=dims["speaker_embed"])
    # torch initializes LayerNorm to weight 1, bias 0; perturb them so the comparison exercises
    # every normalization's affine part.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith(".weight"):
                p.uniform_(0.8, 1.2)
            elif p.dim() == 1 and ("norm" in name or "embed.out.1" in name):
                p.uniform_(-0.2, 0.2)
    return model.eval()


def run_reference(model, text, spk, forced, steps):
    """TransformerLM.inference with forced tokens; returns the logp of each step and the caches."""
    import torch

    logps, caches = [], []

    def sampling(weighted_scores, decoded_tokens, k):
        logps.append(weighted_scores.detach().float().numpy().copy())
        return torch.tensor([int(forced[len(decoded_tokens)])])

    model.sampling = sampling
    orig = model.llm.forward_chunk

    def record(*args, **kwargs):
        y, att, cnn = orig(*args, **kwargs)
        caches.append(att.detach().float().numpy().copy())
        return y, att, cnn

    model.llm.forward_chunk = record
    t = torch.tensor(text, dtype=torch.int32)[None]
    gen = model.inference(
        text=t, text_len=torch.tensor([t.shape[1]], dtype=torch.int32),
        prompt_text=torch.zeros(1, 0, dtype=torch.int32), prompt_text_len=torch.tensor([0], dtype=torch.int32),
        prompt_speech_token=torch.zeros(1, 0, dtype=torch.int32),
        prompt_speech_token_len=torch.tensor([0], dtype=torch.int32),
        embedding=torch.tensor(spk), sampling=25)
    for _ in gen:
        if len(logps) >= steps + 1:
            break
    gen.close()
    model.llm.forward_chunk = orig
    if len(logps) < steps + 1:
        sys.exit(f"the reference stopped after {len(logps)} steps; ask for fewer --steps or a longer --text-len")
    return logps, caches


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", required=True, help="folder of a dangvansam/viet-tts checkout (holds viettts/)")
    ap.add_argument("--size", choices=["full", "small"], default="full")
    ap.add_argument("--work", default="/tmp/viettts-parity-llm", help="folder for llm.pt and the graphs")
    ap.add_argument("--steps", type=int, default=24, help="decode steps after the prefill")
    ap.add_argument("--text-len", type=int, default=30, help="text tokens (VietTTS segments are about 30)")
    ap.add_argument("--seed", type=int, default=1986)
    ap.add_argument("--fp16", action="store_true", help="also compile and compare the fp16 graphs (informational)")
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: all cores)")
    ap.add_argument("--reuse", action="store_true", help="reuse llm.pt and graphs already in --work")
    ap.add_argument("--table-only", action="store_true", help="only compare the relative positional table (seconds)")
    args = ap.parse_args()

    log = pl.logger("parity_llm")
    pl.add_reference(args.ref)
    import torch

    os.makedirs(args.work, exist_ok=True)
    dims = pl.go_dims("full")
    if args.size == "small":
        dims = small_dims(dims)
    dims_path = os.path.join(args.work, "dims.json")
    with open(dims_path, "w") as f:
        json.dump(dims, f, indent=2)

    if args.table_only:
        from viettts.transformer.embedding import EspnetRelPositionalEncoding
        l = dims["llm"]
        pos_path = os.path.join(args.work, "pos_table.f32")
        pl.compile_graphs(["-dims", dims_path, "-pos-table", pos_path], log)
        pe_ref = EspnetRelPositionalEncoding(l["model"], 0.0, l["max_positions"]).pe[0, :l["max_positions"]].numpy()
        pe_go = np.fromfile(pos_path, dtype="<f4").reshape(pe_ref.shape)
        table = pl.Table()
        table.add(f"positional table {pe_ref.shape} (Go vs torch, float32)", pl.max_abs(pe_go, pe_ref), TOL,
                  f"{np.mean(pe_go == pe_ref):.1%} of entries bit-identical")
        print(table.markdown())
        sys.exit(0 if table.ok() else 1)

    def decode_feed(kv):
        """llm_decode's cache inputs for kv (layers, heads, K, 2dk), laid out as the app's engine
        passes them: past_len and each layer's keys and values (heads, room, dk), with room
        rounded up to 64 positions and the empty rows zero."""
        layers, heads, k, row = kv.shape
        room = (k + 63) // 64 * 64
        feed = {"past_len": np.array([k], np.int64)}
        for layer in range(layers):
            for name, part in (("past_key", kv[layer, :, :, :row // 2]), ("past_value", kv[layer, :, :, row // 2:])):
                buf = np.zeros((heads, room, row // 2), kv.dtype)
                buf[:, :k] = part
                feed[f"{name}_{layer}"] = buf
        return feed

    log(f"building the reference TransformerLM ({args.size})")
    model = build_reference(dims, args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    pt = os.path.join(args.work, "llm.pt")
    graphs = os.path.join(args.work, "graphs")
    if not (args.reuse and os.path.exists(pt)):
        torch.save(model.state_dict(), pt)
    else:
        model.load_state_dict(torch.load(pt))
    log(f"{n_params:,} parameters, llm.pt {os.path.getsize(pt):,} bytes")

    rng = np.random.default_rng(args.seed)
    text = rng.integers(0, dims["llm"]["text_vocab"], args.text_len).astype(np.int64)
    spk = rng.standard_normal((1, dims["speaker_embed"])).astype(np.float32) * 5
    forced = rng.integers(0, dims["speech_tokens"], args.steps + 1).astype(np.int64)

    # The non-negative half of upstream's positional table (rows 0..max_len-1: positions
    # max_len-1 .. 0), the part the graphs store.
    max_len = dims["llm"]["max_positions"]
    pe_ref = model.llm.embed.pos_enc.pe[0, :max_len].detach().float().numpy().copy()

    log("reference inference")
    t0 = time.time()
    logp_ref, caches = run_reference(model, text, spk, forced, args.steps)
    ref_s = time.time() - t0
    del model

    compile_s = 0.0
    pos_path = os.path.join(args.work, "pos_table.f32")
    if not (args.reuse and os.path.exists(os.path.join(graphs, "llm_decode.onnx")) and os.path.exists(pos_path)):
        flags = ["-llm", pt, "-dims", dims_path, "-out", graphs, "-pos-table", pos_path] + (["-fp16"] if args.fp16 else [])
        compile_s = pl.compile_graphs(flags, log)

    table = pl.Table()
    pe_go = np.fromfile(pos_path, dtype="<f4").reshape(pe_ref.shape)
    table.add(f"positional table {pe_ref.shape} (Go vs torch, float32)", pl.max_abs(pe_go, pe_ref), TOL)
    timings = {}
    variants = [("fp32", "", TOL)] + ([("fp16", ".fp16", 5e-2)] if args.fp16 else [])
    for label, suffix, tol in variants:
        log(f"running the {label} graphs in ONNX Runtime")
        pre = pl.session(os.path.join(graphs, f"llm_prefill{suffix}.onnx"), args.threads)
        dec = pl.session(os.path.join(graphs, f"llm_decode{suffix}.onnx"), args.threads)
        t0 = time.time()
        logp, kv = pre.run(["logp", "kv"], {"text": text[None], "spk_emb": spk})
        timings[f"{label} prefill s"] = time.time() - t0
        note = "" if label == "fp32" else "fp16 graph vs fp32 reference, informational"
        table.add(f"{label} prefill logp (1, {logp.shape[1]})", pl.max_abs(logp[0], logp_ref[0]), tol, note)
        table.add(f"{label} prefill kv {tuple(kv.shape)}", pl.max_abs(kv, caches[0]), tol, note)
        err_lp = err_row = 0.0
        t0 = time.time()
        for i in range(args.steps):
            feed = decode_feed(kv)
            feed["token"] = forced[i:i + 1][None]
            lp, row = dec.run(["logp", "new_kv"], feed)
            kv = np.concatenate([kv, row], axis=2)
            err_lp = max(err_lp, pl.max_abs(lp[0], logp_ref[i + 1]))
            err_row = max(err_row, pl.max_abs(row, caches[i + 1][:, :, -1:, :]))
        timings[f"{label} decode ms/step"] = (time.time() - t0) / args.steps * 1000
        table.add(f"{label} decode logp, steps 1-{args.steps}", err_lp, tol, note)
        table.add(f"{label} decode new_kv, steps 1-{args.steps}", err_row, tol, note)
        table.add(f"{label} whole cache after step {args.steps} {tuple(kv.shape)}", pl.max_abs(kv, caches[args.steps]), tol, note)
        del pre, dec

    print()
    print(f"LLM parity, size {args.size} ({n_params:,} parameters), L={args.text_len}, {args.steps} decode steps, seed {args.seed}")
    print(f"torch {torch.__version__}, onnxruntime {__import__('onnxruntime').__version__}; "
          f"reference {ref_s:.1f} s, Go compile {compile_s:.1f} s, "
          + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    print()
    print(table.markdown())
    fp32_ok = all(err <= tol for what, err, tol, _ in table.rows if what.startswith("fp32"))
    sys.exit(0 if fp32_ok else 1)


if __name__ == "__main__":
    main()
