#!/usr/bin/env python3
"""Writes python_written.safetensors with the reference `safetensors` library.

The Swift test SafetensorsTests (Tests/CLEXFormatsTests) reads it and also checks that SafetensorsWriter produces the same bytes for the
same tensors. Run from this directory after `pip install safetensors numpy`; the output is
committed, so the tests need no Python.
"""
import numpy as np
import safetensors
from safetensors import serialize_file

F32 = (np.arange(6, dtype=np.float32) * 0.5 - 1.0).reshape(2, 3)
F16 = np.array([0.5, -2.0, 3.25, 65504.0], dtype=np.float16)
# bfloat16 bit patterns of [1.0, -1.5, 256.0, 0.0078125] (numpy has no bfloat16 dtype).
BF16 = (np.array([1.0, -1.5, 256.0, 0.0078125], dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16).reshape(2, 2)
SCALAR = np.array(7.0, dtype=np.float32)
EMPTY = np.zeros((0, 3), dtype=np.float32)

TENSORS = {
    "layer.weight": (F32, "float32", "F32"),
    "layer.half": (F16, "float16", "F16"),
    "layer.brain": (BF16, "bfloat16", "BF16"),
    "scalar": (SCALAR, "float32", "F32"),
    "empty": (EMPTY, "float32", "F32"),
}


def specs():
    """Tensor descriptions for serialize_file, for both the TensorSpec API (0.7+) and the dict API."""
    if hasattr(safetensors, "TensorSpec"):
        return {name: safetensors.TensorSpec(dtype=torch_name, shape=list(a.shape),
                                             data_ptr=a.ctypes.data, data_len=a.nbytes)
                for name, (a, torch_name, _) in TENSORS.items()}
    return {name: {"dtype": st_name, "shape": list(a.shape), "data": a.tobytes()}
            for name, (a, _, st_name) in TENSORS.items()}


if __name__ == "__main__":
    serialize_file(specs(), "python_written.safetensors", metadata={"format": "pt"})
    print("wrote python_written.safetensors with safetensors", safetensors.__version__)
