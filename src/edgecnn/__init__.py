"""edgecnn: one small image classifier, from training to a Raspberry Pi.

The top-level package imports nothing heavy: the runtime must start fast on a Pi,
so tensorflow, onnx and OpenCV are imported only inside the functions that need them.
"""

__version__ = "0.1.0"

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

INPUT_SHAPE: tuple[int, int, int] = (28, 28, 1)
