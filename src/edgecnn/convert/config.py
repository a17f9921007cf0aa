"""What a conversion run is asked to do, and the checks that need no model or data."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UsageError
from ..formats import DEFAULT_FORMATS, FORMAT_NAMES

#: Every format `convert` can write, by name, in the order they are built (edgecnn.formats' table).
FORMATS: tuple[str, ...] = FORMAT_NAMES

#: What `--all` means: every format.
ALL_FORMATS: tuple[str, ...] = FORMATS

DEFAULT_CALIBRATION_SAMPLES = 500
DEFAULT_OPSET = 17
DEFAULT_MAX_INT8_DROP = 1.0
MIN_OPSET, MAX_OPSET = 13, 18


@dataclass
class ConvertConfig:
    """Options of one `edgecnn convert` run (the CLI flags, one field each).

    dataset/data_dir/seed/limit mean what they mean for `train`; left at None they
    come from the train.json beside the model, so the calibration images and the
    test split are the ones the model was trained and tested with.
    """

    model_path: str
    formats: list[str] = field(default_factory=lambda: list(DEFAULT_FORMATS))
    out: str | None = None
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    dataset: str | None = None
    data_dir: str | None = None
    seed: int | None = None
    limit: int | None = None
    uint8_io: bool = False
    opset: int = DEFAULT_OPSET
    max_int8_drop: float = DEFAULT_MAX_INT8_DROP

    def validate(self) -> None:
        """Reject bad flags before any model or dataset is loaded."""
        if not self.formats:
            raise UsageError("no output format requested")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise UsageError(f"unknown format(s) {', '.join(unknown)}: choose from {', '.join(FORMATS)}")
        if self.calibration_samples < 1:
            raise UsageError(f"--calibration-samples must be at least 1 (got {self.calibration_samples})")
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            raise UsageError(f"--opset must be between {MIN_OPSET} and {MAX_OPSET} (got {self.opset})")
        if self.max_int8_drop < 0:
            raise UsageError(f"--max-int8-drop must be 0 or more percentage points (got {self.max_int8_drop})")
        if self.limit is not None and self.limit < 20:
            raise UsageError(f"--limit must be at least 20 images (got {self.limit})")

    def ordered_formats(self) -> list[str]:
        """The requested formats, deduplicated, in build order."""
        return [f for f in FORMATS if f in self.formats]
