"""Speed and memory of each model, backend and thread count, measured in one run."""
