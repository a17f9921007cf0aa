"""Child process of the fuzz tests: runs many jobs in one interpreter, one result line each.

    python driver.py JOBS.json RESULTS.jsonl FIRST

JOBS.json is a list of jobs (see harness.py); this runs jobs[FIRST:] in order. Before
each job it appends `{"start": i}` to RESULTS, after it `{"done": i, ...}`, flushed, so
the parent knows which job a segfault or a hang happened in and reruns that one alone.
Each job's stdout and stderr are file descriptors 1 and 2 redirected to temporary
files, so that what native libraries print (TFLite, ONNX Runtime) is captured too.

Job kinds:
- "cli": edgecnn.cli.main(argv), as `edgecnn ARGV` runs it; with "env", those
  variables are set for the job. Result: rc (exit code), out, err, and "escaped": the
  traceback of any exception main() let out (argparse's SystemExit is an exit code).
- "reader": one of edgecnn's document readers on a file or a text (READERS below).
  Result: rc 0 when it returned, 2 with the message on `err` for an EdgecnnError,
  "escaped" for anything else.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import traceback


def _read_file(reader: str, arg: str) -> object:
    from pathlib import Path

    from edgecnn import documents, modelmeta
    from edgecnn.datasets.recorded import choose_dataset, read_train_json
    from edgecnn.runtime.labels import model_info
    from edgecnn.train.distributed import resolve_cluster

    if reader == "manifest":
        return documents.read_json(documents.MANIFEST, arg)
    if reader == "train_json":  # arg: a model path; train.json beside it
        read_train_json(Path(arg))
        return choose_dataset(None, None, None, None, Path(arg))
    if reader == "labels":
        return documents.read_labels(arg)
    if reader == "embedded":  # arg: a file holding the raw bytes of an "edgecnn" entry
        return modelmeta.decode_metadata("model.onnx", Path(arg).read_bytes())
    if reader == "model_info":  # arg: a model; manifest.json / labels.txt beside it, 10 classes
        return model_info(Path(arg), 10)
    if reader == "tf_config":  # arg: a file holding TF_CONFIG's bytes (as the environment would give them)
        raw = Path(arg).read_bytes()
        text = os.fsdecode(raw)  # what os.environ holds for a non-UTF-8 value
        return resolve_cluster("multiworker", None, None, {"TF_CONFIG": text})
    raise ValueError(f"unknown reader {reader}")


def materialize(job: dict, folder: str) -> dict:
    """A job whose "model" is a mutant description, with the mutant written into `folder`."""
    if "model" not in job:
        return job
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from mutate import apply_edits

    spec = job["model"]
    with open(spec["src"], "rb") as fh:
        data = apply_edits(fh.read(), spec["edits"])
    path = os.path.join(folder, spec["name"])
    with open(path, "wb") as fh:
        fh.write(data)
    return dict(job, argv=[path if a == "{model}" else a for a in job["argv"]])


def run_job(job: dict) -> dict:
    """One job with fds 1 and 2 redirected; the result dict (without the job index)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-model-") as folder:
        return _run_job(materialize(job, folder))


def _run_job(job: dict) -> dict:
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    saved = os.dup(1), os.dup(2)
    saved_env = {k: os.environ.get(k) for k in job.get("env", {})}
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(out_f.fileno(), 1)
    os.dup2(err_f.fileno(), 2)
    stdout = io.TextIOWrapper(open(1, "wb", closefd=False), encoding="utf-8", line_buffering=True)
    stderr = io.TextIOWrapper(open(2, "wb", closefd=False), encoding="utf-8", errors="backslashreplace",
                              line_buffering=True)
    old_streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = stdout, stderr
    os.environ.update(job.get("env", {}))
    rc, escaped = None, None
    try:
        if job["kind"] == "cli":
            from edgecnn.cli import main

            try:
                rc = main(job["argv"])
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 2
        else:
            from edgecnn.errors import EdgecnnError

            try:
                _read_file(job["reader"], job["arg"])
                rc = 0
            except EdgecnnError as exc:
                print(f"edgecnn: error: {exc}", file=sys.stderr)
                rc = exc.exit_code
    except BaseException:  # noqa: BLE001 - what escapes is what the fuzz test counts
        escaped = traceback.format_exc(limit=-8)
    finally:
        for stream in (stdout, stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        sys.stdout, sys.stderr = old_streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    out_f.seek(0)
    err_f.seek(0)
    return {"rc": rc, "escaped": escaped, "out": out_f.read().decode("utf-8", "backslashreplace")[:20000],
            "err": err_f.read().decode("utf-8", "backslashreplace")[:20000]}


def main() -> None:
    jobs_path, results_path, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(jobs_path) as fh:
        jobs = json.load(fh)
    with open(results_path, "a", buffering=1) as results:
        for i in range(first, len(jobs)):
            results.write(json.dumps({"start": i}) + "\n")
            results.flush()
            result = run_job(jobs[i])
            result["done"] = i
            results.write(json.dumps(result) + "\n")
            results.flush()


if __name__ == "__main__":
    main()
