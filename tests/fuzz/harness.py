"""Run fuzz jobs in child processes and sort every outcome into one of a few kinds.

`run_jobs` sends the jobs to one child (driver.py) at a time; when a child dies on a
signal or a job runs past its timeout, the child is killed, that job is run again alone
in a fresh child (so a crash or a hang is pinned on one input and counted, never taken
for pytest's own death), and the rest go on in a new batch child.

Kinds, as the fuzz summary counts them:

    success      exit 0 with well-formed output (JSON lines parse, no non-finite score)
    clean_error  a documented exit code (2: bad input; 1: `classify` with per-file errors)
                 and stderr lines that are all edgecnn's one-line messages
    traceback    an exception that escaped main() or a reader, or "Traceback" in the output
    unclean      anything else: an undocumented exit code, exit 0 with a malformed answer,
                 or stray lines on stderr next to an error
    hang         no answer within the timeout
    crash        the child process ended by a signal (segfault, abort, out of memory)
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DRIVER = Path(__file__).with_name("driver.py")
KINDS = ("success", "clean_error", "traceback", "unclean", "hang", "crash", "known_bug")

#: Bugs a fuzz run found and that are not fixed yet: an outcome that matches one is counted
#: as "known_bug" (not a failure of the corpus tests) and gets its own xfail test in
#: test_fuzz.py. (name, test on the Outcome). Empty: the first run's five (NaN scores, ONNX
#: Runtime's banner on stdout and log line on stderr, Pillow's warnings on stderr, a
#: UnicodeDecodeError from ONNX shapes, NaN TIFFs) are fixed, and test_fuzz.py keeps a
#: regression test for each.
KNOWN_BUGS: list[tuple[str, Any]] = []
#: Address-space cap of every child: a memory bomb ends there (counted), not in the machine's OOM killer.
CHILD_MEMORY_BYTES = 8 << 30


#: Every Tally made in this session, for the terminal summary (conftest.py).
TALLIES: list["Tally"] = []


@dataclass
class Outcome:
    job: dict
    kind: str
    detail: str = ""
    result: dict = field(default_factory=dict)


@dataclass
class Tally:
    """Counts of one corpus, for the summary and the asserts."""

    name: str
    seconds: float = 0.0
    counts: Counter = field(default_factory=Counter)
    bad: list[Outcome] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)

    def add(self, outcome: Outcome, unit: int = 1) -> None:
        for name, test in KNOWN_BUGS:
            if test(outcome):
                outcome.kind = "known_bug"
                self.notes[f"known bug {name}"] += unit
                break
        self.counts[outcome.kind] += unit
        if outcome.kind not in ("success", "clean_error", "known_bug"):
            self.bad.append(outcome)

    @property
    def inputs(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        c = self.counts
        known = f", {c['known_bug']} known bugs" if c["known_bug"] else ""
        text = (f"{self.name}: {self.inputs} inputs, {c['clean_error']} clean errors, {c['success']} successes, "
                f"{c['traceback']} tracebacks, {c['unclean']} unclean, {c['hang']} hangs, {c['crash']} crashes"
                f"{known} ({self.seconds:.1f} s)")
        if self.notes:
            text += "; " + ", ".join(f"{k}: {v}" for k, v in sorted(self.notes.items()))
        return text

    def failures(self, limit: int = 5) -> str:
        return "\n".join(f"- {o.kind}: {json.dumps(o.job)[:400]}\n  {o.detail[:1500]}" for o in self.bad[:limit])


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(EDGECNN_OFFLINE="1", PYTHONFAULTHANDLER="1", PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2",
               OMP_NUM_THREADS="1")
    return env


def _read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a crash
            break
    return out


def run_jobs(jobs: list[dict], workdir: Path, timeout: float = 30.0) -> list[Outcome]:
    """Every job's Outcome, in order."""
    workdir.mkdir(parents=True, exist_ok=True)
    jobs_path = workdir / "jobs.json"
    jobs_path.write_text(json.dumps(jobs))
    outcomes: list[Outcome | None] = [None] * len(jobs)
    first, batch = 0, 0
    while first < len(jobs):
        results_path = workdir / f"results-{batch}.jsonl"
        batch += 1
        with open(workdir / "driver-stderr.txt", "ab") as err:
            proc = subprocess.Popen([sys.executable, str(DRIVER), str(jobs_path), str(results_path), str(first)],
                                    stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=_child_env(),
                                    start_new_session=True, preexec_fn=_limit_memory)
        current, started = first, time.monotonic()
        stuck = None
        while True:
            code = proc.poll()
            lines = _read_lines(results_path)
            done = [line for line in lines if "done" in line]
            starts = [line["start"] for line in lines if "start" in line]
            for line in done:
                if outcomes[line["done"]] is None:
                    outcomes[line["done"]] = classify(jobs[line["done"]], line)
            if starts and starts[-1] != current:
                current, started = starts[-1], time.monotonic()
            if code is not None:
                break
            if time.monotonic() - started > timeout:
                stuck = current
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.02)
        lines = _read_lines(results_path)
        finished = {line["done"] for line in lines if "done" in line}
        unfinished = [i for i in range(first, len(jobs)) if i not in finished]
        if not unfinished:
            break
        # The batch child died (signal) or hung on `culprit`: that job alone, in a fresh child.
        culprit = stuck if stuck is not None else unfinished[0]
        outcomes[culprit] = run_alone(jobs[culprit], workdir, timeout)
        first = culprit + 1
    return [o for o in outcomes if o is not None]


def run_alone(job: dict, workdir: Path, timeout: float) -> Outcome:
    """One job in a fresh child: its Outcome, a signal or a timeout included."""
    one = workdir / "alone.json"
    one.write_text(json.dumps([job]))
    results = workdir / "alone-results.jsonl"
    results.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, str(DRIVER), str(one), str(results), "0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=_child_env(), start_new_session=True, preexec_fn=_limit_memory)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return Outcome(job, "hang", f"no answer in {timeout:.0f} s when run alone")
    done = [line for line in _read_lines(results) if "done" in line]
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        return Outcome(job, "crash", f"killed by {name}: {output.decode('utf-8', 'replace')[-1500:]}")
    if not done:
        return Outcome(job, "crash", f"child exited {proc.returncode} without an answer: "
                                     f"{output.decode('utf-8', 'replace')[-1500:]}")
    outcome = classify(job, done[0])
    outcome.detail = "(run alone after its batch child died) " + outcome.detail
    return outcome


_SUMMARY = ("classified ",)


def _stderr_lines_ok(err: str, json_mode: bool, rc: int) -> str | None:
    """None when every stderr line is one of edgecnn's own; else the first stray line."""
    for line in err.splitlines():
        if not line.strip():
            continue
        if line.startswith(("edgecnn: error: ", "edgecnn: warning: ")) or line.startswith(_SUMMARY):
            continue
        if rc == 1 and not json_mode and ": error: " in line:  # PATH: error: PROBLEM
            continue
        return line
    return None


def classify(job: dict, result: dict) -> Outcome:
    """The kind of one job's result (see the module docstring)."""
    rc, out, err = result.get("rc"), result.get("out", ""), result.get("err", "")
    if result.get("escaped"):
        return Outcome(job, "traceback", result["escaped"][-1500:], result)
    if "Traceback (most recent call last)" in out + err:
        return Outcome(job, "traceback", (out + err)[-1500:], result)
    argv = job.get("argv", [])
    json_mode = "--json" in argv
    if job["kind"] == "reader":
        lines = [line for line in err.splitlines() if line.strip()]
        if rc == 0:
            return Outcome(job, "success", "", result)
        if rc == 2 and len(lines) == 1:
            return Outcome(job, "clean_error", lines[0], result)
        return Outcome(job, "unclean", f"rc {rc}: {err[-800:]}", result)
    if rc not in (0, 1, 2):
        return Outcome(job, "unclean", f"undocumented exit code {rc}: {err[-800:]}", result)
    stray = _stderr_lines_ok(err, json_mode, rc)
    if stray is not None:
        return Outcome(job, "unclean", f"rc {rc}, stray stderr line: {stray[:300]!r}", result)
    errors = [line for line in err.splitlines() if line.startswith("edgecnn: error: ")]
    if rc == 2:
        if len(errors) != 1 or out.strip():
            return Outcome(job, "unclean", f"rc 2 with {len(errors)} error lines and stdout {out[:200]!r}", result)
        return Outcome(job, "clean_error", errors[0], result)
    if errors:
        return Outcome(job, "unclean", f"rc {rc} with an 'edgecnn: error:' line: {errors[0]}", result)
    problem = check_answers(out, json_mode)
    if problem:
        return Outcome(job, "unclean", f"rc {rc}: {problem}", result)
    if rc == 1:
        return Outcome(job, "clean_error", "per-file errors", result)
    return Outcome(job, "success", "", result)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_answers(out: str) -> list[dict[str, Any]]:
    """classify --json's lines; NaN and Infinity, which Python's json would accept, are not JSON."""
    return [json.loads(line, parse_constant=_no_constant) for line in out.splitlines() if line.strip()]


def check_answers(out: str, json_mode: bool) -> str | None:
    """A problem with classify's stdout (unparseable JSON, a non-finite or out-of-range score), or None."""
    if not json_mode:
        for line in out.splitlines():
            if "(nan)" in line or "(inf)" in line:
                return f"non-finite score: {line[:200]!r}"
        return None
    try:
        records = parse_answers(out)
    except (json.JSONDecodeError, ValueError) as exc:
        return f"stdout is not strict JSON lines ({exc}): {out[:200]!r}"
    for record in records:
        if "error" in record:
            continue
        for p in record.get("top_k", []):
            score = p.get("score")
            if not isinstance(score, (int, float)) or not math.isfinite(score) or not 0 <= score <= 1:
                return f"score {score!r} for {record.get('path')!r}"
    return None
