#!/usr/bin/env python3
"""Writes python_written.gguf with llama.cpp's own `gguf` Python package (gguf-py).

For each encoding it stores `x.<TYPE>` (the same float tensor encoded by gguf-py's quantisers)
and `ref.<TYPE>` (gguf-py's own dequantisation of those bytes, as F32), so the Swift tests
(GGUFCompatibilityTests) can check the reader against an independent implementation. Run from
this directory after `pip install gguf numpy`; the output is committed.
"""
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

x = (np.sin(np.arange(3 * 64, dtype=np.float32) * 0.37) * 3.0 + np.arange(3 * 64, dtype=np.float32) * 0.01).reshape(3, 64)

w = gguf.GGUFWriter("python_written.gguf", "llama")
w.add_block_count(2)
w.add_context_length(128)
w.add_embedding_length(64)
w.add_head_count(4)
w.add_layer_norm_rms_eps(1e-5)
w.add_name("gguf-py fixture")
w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "▁hi"])
w.add_array("tokenizer.ggml.scores", [0.0, -1.0, -2.5])
w.add_bool("test.flag", True)
w.add_uint64("test.big", 1 << 40)
w.add_int8("test.int8", -3)
for qtype in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1):
    data = quantize(x, qtype)
    w.add_tensor(f"x.{qtype.name}", data, raw_dtype=qtype)
    w.add_tensor(f"ref.{qtype.name}", dequantize(data, qtype).astype(np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote python_written.gguf with gguf-py")
