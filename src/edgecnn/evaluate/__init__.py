"""Accuracy, per-class precision/recall, agreement and confusion matrices for any model format."""
