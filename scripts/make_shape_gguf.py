"""Random-weight GGUF files in real LLaMA shapes, for speed and memory benchmarks only.

Run through scripts/make-shape-gguf (which provides the venv with `gguf` and `numpy`); see its
header for usage. Not part of the project's run time.

What a file holds:
- general.architecture llama and the llama.* keys llama.cpp needs, general.file_type, and every
  tokenizer.* key of SmolLM2-135M's GGUF (so the vocabulary is 49152 and token_embd/output have
  49152 rows, not the original models' 32000).
- Norm weights F32 ones; every matrix, token_embd.weight and output.weight (separate, not tied) in
  the chosen type, except the Q4_K_M mix (below).
- Quantised blocks written directly as random bytes with fp16 scales chosen so that weights have
  magnitudes around 0.02 (no float array is quantised: a 7B file takes seconds and little RAM).
  The weights are random: fine for speed and memory, meaningless for quality.
- Tensors are streamed to disk in 32 MB chunks (peak RSS ~250 MB, mostly the parsed tokenizer).

Q4_K_M mix (llama-quantize's recipe for LLaMA in spirit): matrices and token_embd Q4_K;
attn_v and ffn_down Q6_K in the layers where llama-quantize's use_more_bits(i, n) holds (the
first and last eighth and every third layer between); output Q6_K.
"""
import argparse
import os
import sys
import time

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter, GGMLQuantizationType as Q, LlamaFileType

# Real model shapes (hyper-parameters of the original checkpoints; the vocabulary is SmolLM2's).
SHAPES = {
    "tinyllama-1.1b": dict(hidden=2048, layers=22, heads=32, kv_heads=4, ffn=5632, context=2048,
                           rope_theta=10000.0, eps=1e-5),
    "llama2-7b": dict(hidden=4096, layers=32, heads=32, kv_heads=32, ffn=11008, context=4096,
                      rope_theta=10000.0, eps=1e-5),
    "smollm2-135m": dict(hidden=576, layers=30, heads=9, kv_heads=3, ffn=1536, context=8192,
                         rope_theta=100000.0, eps=1e-5),
}

# type name -> (tensor type of the matrices, general.file_type)
TYPES = {
    "Q4_0": (Q.Q4_0, LlamaFileType.MOSTLY_Q4_0),
    "Q4_1": (Q.Q4_1, LlamaFileType.MOSTLY_Q4_1),
    "Q8_0": (Q.Q8_0, LlamaFileType.MOSTLY_Q8_0),
    "F16": (Q.F16, LlamaFileType.MOSTLY_F16),
    "Q4_K": (Q.Q4_K, LlamaFileType.MOSTLY_Q4_K_S),  # all Q4_K: no pure-Q4_K file type exists
    "Q5_K": (Q.Q5_K, LlamaFileType.MOSTLY_Q5_K_S),
    "Q6_K": (Q.Q6_K, LlamaFileType.MOSTLY_Q6_K),
    "Q4_K_M": (Q.Q4_K, LlamaFileType.MOSTLY_Q4_K_M),  # the mix, see the module docstring
}

# (elements per block, bytes per block)
BLOCK = {Q.F32: (1, 4), Q.F16: (1, 2), Q.Q4_0: (32, 18), Q.Q4_1: (32, 20), Q.Q8_0: (32, 34),
         Q.Q4_K: (256, 144), Q.Q5_K: (256, 176), Q.Q6_K: (256, 210)}

TARGET = 0.02  # typical weight magnitude
CHUNK_BYTES = 32 << 20


def use_more_bits(i, n):
    """llama-quantize's choice of the layers that get more bits in the *_K_M mixes."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def fp16_bytes(values):
    return values.astype(np.float16).view(np.uint8).reshape(-1, 2)


def random_blocks(rng, qtype, count):
    """`count` random blocks of `qtype` as a (count, block bytes) uint8 array, with fp16 scales
    such that decoded weights have magnitudes around TARGET (and roughly zero mean)."""
    _, size = BLOCK[qtype]
    b = np.frombuffer(rng.bytes(count * size), dtype=np.uint8).reshape(count, size).copy()
    jitter = lambda: rng.uniform(0.5, 1.5, count).astype(np.float32)  # noqa: E731
    if qtype == Q.Q4_0:    # d; q in 0..15 -> d * (q - 8)
        b[:, 0:2] = fp16_bytes(jitter() * TARGET / 4)
    elif qtype == Q.Q4_1:  # d, m; q in 0..15 -> d * q + m
        d = jitter() * TARGET / 4
        b[:, 0:2] = fp16_bytes(d)
        b[:, 2:4] = fp16_bytes(-7.5 * d)
    elif qtype == Q.Q8_0:  # d; q in -128..127 -> d * q
        b[:, 0:2] = fp16_bytes(jitter() * TARGET / 64)
    elif qtype == Q.Q4_K:  # d, dmin, 12 bytes of 6-bit scales/mins (~32), q in 0..15
        d = jitter() * TARGET / (32 * 4)
        b[:, 0:2] = fp16_bytes(d)
        b[:, 2:4] = fp16_bytes(7.5 * d)
    elif qtype == Q.Q5_K:  # d, dmin, scales, qh, qs; q in 0..31
        d = jitter() * TARGET / (32 * 8)
        b[:, 0:2] = fp16_bytes(d)
        b[:, 2:4] = fp16_bytes(15.5 * d)
    elif qtype == Q.Q6_K:  # ql, qh, int8 scales (~64), d; q in 0..63 -> d * scale * (q - 32)
        b[:, 208:210] = fp16_bytes(jitter() * TARGET / (64 * 16))
    else:
        raise ValueError(f"no block writer for {qtype.name}")
    return b


def write_tensor_data(fout, rng, qtype, rows, cols):
    """Streams one tensor (rows × cols, cols contiguous) in chunks; returns the bytes written."""
    if qtype == Q.F32:  # only norms: ones
        data = np.ones(rows * cols, dtype=np.float32)
        data.tofile(fout)
        return data.nbytes
    per_block, block_bytes = BLOCK[qtype]
    row_bytes = cols // per_block * block_bytes
    rows_per_chunk = max(1, CHUNK_BYTES // row_bytes)
    written = 0
    for start in range(0, rows, rows_per_chunk):
        n = min(rows_per_chunk, rows - start)
        if qtype == Q.F16:
            chunk = (rng.standard_normal(n * cols, dtype=np.float32) * TARGET).astype(np.float16)
        else:
            chunk = random_blocks(rng, qtype, n * cols // per_block)
        chunk.tofile(fout)
        written += chunk.nbytes
    return written


def plan_tensors(shape, type_name, vocab):
    """[(name, rows, cols, qtype)] in llama.cpp's usual order; rows × cols is the matrix as
    stored (cols = ggml ne[0], the input dimension)."""
    s = SHAPES[shape]
    base = TYPES[type_name][0]
    mix = type_name == "Q4_K_M"
    e, f, n = s["hidden"], s["ffn"], s["layers"]
    head_dim = e // s["heads"]
    kv = s["kv_heads"] * head_dim
    plan = [("token_embd.weight", vocab, e, base)]
    for i in range(n):
        more = mix and use_more_bits(i, n)
        p = f"blk.{i}."
        plan += [
            (p + "attn_norm.weight", 1, e, Q.F32),
            (p + "attn_q.weight", e, e, base),
            (p + "attn_k.weight", kv, e, base),
            (p + "attn_v.weight", kv, e, Q.Q6_K if more else base),
            (p + "attn_output.weight", e, e, base),
            (p + "ffn_norm.weight", 1, e, Q.F32),
            (p + "ffn_gate.weight", f, e, base),
            (p + "ffn_up.weight", f, e, base),
            (p + "ffn_down.weight", e, f, Q.Q6_K if more else base),
        ]
    plan += [("output_norm.weight", 1, e, Q.F32),
             ("output.weight", vocab, e, Q.Q6_K if mix else base)]
    for name, rows, cols, qtype in plan:
        per_block = BLOCK[qtype][0]
        if cols % per_block:
            raise SystemExit(f"make-shape-gguf: {shape} cannot be written as {type_name}: {name} has rows of "
                             f"{cols} values, not a multiple of {qtype.name}'s block of {per_block} "
                             f"(use Q4_0, Q4_1, Q8_0 or F16 for this shape)")
    return plan


def tensor_bytes(qtype, rows, cols):
    per_block, block_bytes = BLOCK[qtype]
    return rows * cols // per_block * block_bytes


def copy_tokenizer(writer, tokenizer_gguf):
    """Every tokenizer.* key of `tokenizer_gguf`; returns the vocabulary size."""
    reader = GGUFReader(tokenizer_gguf)
    vocab = None
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type)
        if key == "tokenizer.ggml.tokens":
            vocab = len(field.data)
    if not vocab:
        raise SystemExit(f"make-shape-gguf: {tokenizer_gguf} has no tokenizer.ggml.tokens")
    return vocab


def make(shape, type_name, out, tokenizer_gguf, seed):
    s = dict(SHAPES[shape])
    part = out + ".part"
    writer = GGUFWriter(part, "llama")
    s["vocab"] = copy_tokenizer(writer, tokenizer_gguf)
    plan = plan_tensors(shape, type_name, s["vocab"])
    writer.add_type("model")
    writer.add_name(f"random {shape} {type_name} (benchmark shape, random weights)")
    writer.add_context_length(s["context"])
    writer.add_embedding_length(s["hidden"])
    writer.add_block_count(s["layers"])
    writer.add_feed_forward_length(s["ffn"])
    writer.add_head_count(s["heads"])
    writer.add_head_count_kv(s["kv_heads"])
    writer.add_layer_norm_rms_eps(s["eps"])
    writer.add_rope_freq_base(s["rope_theta"])
    writer.add_rope_dimension_count(s["hidden"] // s["heads"])
    writer.add_vocab_size(s["vocab"])
    writer.add_file_type(int(TYPES[type_name][1]))
    if type_name != "F16":
        writer.add_quantization_version(2)
    for name, rows, cols, qtype in plan:
        shape_np = (cols,) if rows == 1 else (rows, cols)
        # tensor_dtype float32 with raw_dtype: the shape is taken in elements, as given.
        writer.add_tensor_info(name, shape_np, np.dtype(np.float32), tensor_bytes(qtype, rows, cols), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    # Tensor data, streamed: the writer's offsets are each tensor padded to the alignment (32).
    fout = writer.fout[0]
    writer.write_padding(fout, fout.tell())
    rng = np.random.default_rng(seed)
    total = len(plan)
    t0 = time.time()
    for k, (name, rows, cols, qtype) in enumerate(plan):
        n = write_tensor_data(fout, rng, qtype, rows, cols)
        assert n == tensor_bytes(qtype, rows, cols), name
        writer.write_padding(fout, n)
        if sys.stderr.isatty() and (k % 20 == 0 or k == total - 1):
            print(f"\r  {k + 1}/{total} tensors", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    writer.close()
    size = os.path.getsize(part)
    # Check what was written: the reader's view of each tensor must match the plan.
    check = GGUFReader(part)
    if len(check.tensors) != len(plan):
        raise SystemExit(f"make-shape-gguf: {part}: {len(check.tensors)} tensors read back, {len(plan)} written")
    last = check.tensors[-1]
    if last.data_offset + last.n_bytes > size:
        raise SystemExit(f"make-shape-gguf: {part} is truncated")
    os.replace(part, out)
    params = sum(rows * cols for _, rows, cols, _ in plan)
    print(f"make-shape-gguf: wrote {out} ({size / 1e9:.2f} GB, {params / 1e9:.2f} B parameters, "
          f"{total} tensors, {time.time() - t0:.0f} s)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="tinyllama-1.1b",
                   help=f"comma-separated shapes: {', '.join(SHAPES)} (default tinyllama-1.1b)")
    p.add_argument("--type", default="Q4_0", help=f"comma-separated types: {', '.join(TYPES)} (default Q4_0)")
    p.add_argument("--out", help="output file (one shape and type only); default OUTDIR/<shape>-<type>.gguf")
    p.add_argument("--out-dir", required=True, help="folder of the default output files")
    p.add_argument("--tokenizer", required=True, help="GGUF whose tokenizer.* keys are copied (SmolLM2's)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--force", action="store_true", help="rewrite files that exist")
    a = p.parse_args()
    shapes = [x.strip() for x in a.shape.split(",") if x.strip()]
    types = [x.strip() for x in a.type.split(",") if x.strip()]
    for x in shapes:
        if x not in SHAPES:
            p.error(f"unknown shape '{x}' (known: {', '.join(SHAPES)})")
    for x in types:
        if x not in TYPES:
            p.error(f"unknown type '{x}' (known: {', '.join(TYPES)})")
    if a.out and len(shapes) * len(types) != 1:
        p.error("--out needs exactly one shape and one type")
    for shape in shapes:
        for type_name in types:
            out = a.out or os.path.join(a.out_dir, f"{shape}-{type_name}.gguf")
            if os.path.exists(out) and not a.force:
                print(f"make-shape-gguf: {out} exists (--force rewrites it)")
                continue
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            make(shape, type_name, out, a.tokenizer, a.seed)


if __name__ == "__main__":
    main()
