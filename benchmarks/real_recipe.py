"""The full training recipe on real Fashion-MNIST, end to end, with the figures README quotes.

Runs `edgecnn pipeline` (train with the recipe, convert to every format, evaluate on
the real 10,000-image test split, bench, report.md) and prints one summary: test
accuracy of the float model and of each converted one, the int8 drops, epochs, and
seconds per epoch, with the CPU they were measured on. It refuses to run on the
synthetic set: these are real-data figures.

    python benchmarks/real_recipe.py --out artifacts/real            # the default recipe, 60 epochs
    python benchmarks/real_recipe.py --recipe seed --out artifacts/seed

Needs the real files: `sudo apt-get install dataset-fashion-mnist` on Debian/Ubuntu.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgecnn.bench.machine import facts_line, machine_facts
from edgecnn.convert.manifest import change_vs_keras
from edgecnn.errors import EdgecnnError
from edgecnn.pipeline import PipelineConfig, run_pipeline


def summary(out: Path) -> dict:
    """The headline figures from train.json and manifest.json of one pipeline run."""
    trained = json.loads((out / "train.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "dataset": trained["dataset"],
        "recipe": trained["recipe"]["name"],
        "epochs_run": trained["epochs_run"],
        "best_epoch": trained["best_epoch"],
        "seconds_per_epoch": trained["seconds_per_epoch"],
        "keras_test_accuracy": trained["test_accuracy"],
        "formats": {a["format"]: {"accuracy": a.get("accuracy"), "drop_pp": a.get("accuracy_drop_pp"),
                                  "agreement": a.get("agreement"), "kb": round(a["bytes"] / 1024, 1)}
                    for a in manifest["artifacts"]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="artifacts/real")
    parser.add_argument("--recipe", default="edgecnn")
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    try:
        run_pipeline(PipelineConfig(dataset="fashion-mnist", data_dir=args.data_dir, recipe=args.recipe,
                                    epochs=args.epochs, out=args.out), log=lambda m: print(m, flush=True))
    except EdgecnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    result = summary(Path(args.out))
    print("\n" + facts_line(machine_facts()))
    print(f"real Fashion-MNIST ({result['dataset']['source']}), recipe {result['recipe']}: "
          f"{result['epochs_run']} epochs, best epoch {result['best_epoch']}, "
          f"{result['seconds_per_epoch']:.1f} s per epoch")
    print(f"Keras float32 test accuracy {result['keras_test_accuracy'] * 100:.2f}%")
    for fmt, row in result["formats"].items():
        acc = "-" if row["accuracy"] is None else f"{row['accuracy'] * 100:.2f}%"
        drop = "-" if row["drop_pp"] is None else change_vs_keras(row["drop_pp"])
        agree = "-" if row["agreement"] is None else f"{row['agreement'] * 100:.2f}%"
        print(f"  {fmt:10s} accuracy {acc}  vs Keras {drop}  agreement {agree}  {row['kb']} KB")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
