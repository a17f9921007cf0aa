"""Training the seed CNN (needs the [train] extra: tensorflow/keras)."""
