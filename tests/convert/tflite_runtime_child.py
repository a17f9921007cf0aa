"""Run .tflite models in whatever TFLite interpreter this Python has; write their outputs.

Executed by a separate Python (the tflite-runtime 2.14 venv, numpy < 2), so it imports
nothing from edgecnn: usage `python tflite_runtime_child.py INPUT.npy OUTPUT.npz MODEL...`.
INPUT.npy holds uint8 pixels (N, 28, 28); each model's input is quantized with its own
scale and zero point, exactly as a Pi would do it.
"""

import json
import os
import sys

import numpy as np

try:
    from tflite_runtime.interpreter import Interpreter, OpResolverType
    import tflite_runtime

    ENGINE = f"tflite_runtime {tflite_runtime.__version__}"
except ImportError:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    ENGINE = "ai_edge_litert"


#: EDGECNN_NO_DEFAULT_DELEGATES=1: built-in reference kernels only (no XNNPACK).
NO_DELEGATES = os.environ.get("EDGECNN_NO_DEFAULT_DELEGATES") == "1"


def run(path, pixels):
    options = {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES} if NO_DELEGATES else {}
    interpreter = Interpreter(model_path=path, num_threads=1, **options)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero_point = inp["quantization"]
    x = pixels.astype(np.float32)[..., None] / 255.0
    if scale:
        info = np.iinfo(inp["dtype"])
        x = np.clip(np.round(x / scale) + zero_point, info.min, info.max)
    rows = []
    for image in x.astype(inp["dtype"]):
        interpreter.set_tensor(inp["index"], image[None])
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.stack(rows)


def main():
    pixels = np.load(sys.argv[1])
    outputs = {f"m{i}": run(path, pixels) for i, path in enumerate(sys.argv[3:])}
    np.savez(sys.argv[2], **outputs)
    print(json.dumps({"engine": ENGINE, "numpy": np.__version__, "default_delegates": not NO_DELEGATES}))


if __name__ == "__main__":
    main()
