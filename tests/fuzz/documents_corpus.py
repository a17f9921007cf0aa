"""Seeded malformed versions of the documents edgecnn reads: JSON and labels.txt.

Each generator returns (name, bytes) pairs, the same for the same seed: deep nesting,
huge numbers, NaN and Infinity, values of the wrong type or range at any place in the
document, invalid UTF-8, duplicate keys, truncations and oversized documents.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

#: A value put in place of another: wrong types, out-of-range numbers, odd strings and lists.
ODD_VALUES: list[Any] = [
    "abc", "", "0,1", -5, 0, 1, -1, 1.5, 2 ** 64, -(2 ** 63) - 1, 1e308, -1e308, 5e-324, True, False, None,
    [], {}, [1, 2, 3], [None, None], ["a", "b"], [1, "x"], [[0, 1]], {"a": 1}, "x" * 5000, list(range(20_000)),
    "\u202e\u2028\x1b[2J", "..", "../../etc/passwd", "/abs/path", [1.0, 0.0], [0.0, 0.0], [0, 1e308],
]

#: Raw JSON texts spliced in place of a value: what json.dumps never writes.
RAW_VALUES = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 5000, "1e-400", "[" * 17 + "]" * 17,
              "[" * 1000 + "]" * 1000, '{"a":' * 200 + "1" + "}" * 200, "0x10", "01", "+1", ".5", "1.", "'s'",
              "true false", '"\\ud800"', '"\\u0000"']

BAD_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80"]


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) to a value inside a JSON document, the root included."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, prefix + (key,)))
    elif isinstance(value, list):
        for i, item in enumerate(value[:12]):
            out.extend(_paths(item, prefix + (i,)))
    return out


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


MARK = "\u0000FUZZ\u0000"


def json_mutants(base: Any, count: int, seed: int) -> list[tuple[str, bytes]]:
    """`count` malformed variants of the JSON document `base`."""
    rng = random.Random(seed)
    paths = _paths(base)
    text = json.dumps(base, indent=2)
    fixed: list[tuple[str, bytes]] = [
        ("empty", b""), ("bom-only", b"\xef\xbb\xbf"), ("whitespace", b" \n\t "), ("null", b"null"),
        ("list", b"[]"), ("number", b"5"), ("string", b'"x"'), ("nested-100k", b"[" * 100_000 + b"]" * 100_000),
        ("open-100k", b"{" * 100_000), ("oversize", b'{"x": "' + b"a" * (2 << 20) + b'"}'),
        ("nul-bytes", text.encode()[:50] + b"\x00" * 10 + text.encode()[50:]),
        ("utf16", text.encode("utf-16")), ("latin1-key", b'{"caf\xe9": 1}'),
    ]
    out = list(fixed)
    for n in range(max(0, count - len(fixed))):
        kind = ("odd-value", "raw-value", "bad-utf8", "duplicate-key", "truncate", "delete-key")[n % 6]
        doc = copy.deepcopy(base)
        path = rng.choice(paths)
        if kind == "odd-value":
            data = json.dumps(_set(doc, path, copy.deepcopy(rng.choice(ODD_VALUES)))).encode()
        elif kind == "raw-value":
            data = json.dumps(_set(doc, path, MARK)).replace(json.dumps(MARK), rng.choice(RAW_VALUES)).encode()
        elif kind == "bad-utf8":
            raw = text.encode()
            quotes = [i for i, c in enumerate(raw) if c == ord('"')]
            pos = rng.choice(quotes) + 1 if quotes else rng.randrange(len(raw) + 1)
            data = raw[:pos] + rng.choice(BAD_UTF8) + raw[pos:]
        elif kind == "duplicate-key":
            objects = [p for p in paths if isinstance(_get(base, p), dict) and _get(base, p)]
            p = rng.choice(objects) if objects else ()
            key = rng.choice(list(_get(base, p)))
            inner = json.dumps(_get(base, p))
            dup = inner[:-1] + f", {json.dumps(key)}: {json.dumps(rng.choice(ODD_VALUES[:16]))}}}"
            data = json.dumps(_set(doc, p, MARK)).replace(json.dumps(MARK), dup).encode()
        elif kind == "truncate":
            data = text.encode()[:rng.randrange(len(text))]
        else:
            objects = [p for p in paths if isinstance(_get(base, p), dict) and _get(base, p)]
            p = rng.choice(objects) if objects else ()
            target = _get(doc, p)
            target.pop(rng.choice(list(target)), None)
            data = json.dumps(doc).encode()
        out.append((f"{kind}-{n}-{'.'.join(map(str, path))[:40]}", data))
    return out[:count] if count >= len(fixed) else out


def _get(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def labels_mutants(names: list[str], count: int, seed: int) -> list[tuple[str, bytes]]:
    """Malformed labels.txt files for a model of len(names) classes."""
    rng = random.Random(seed)
    good = "\n".join(names) + "\n"
    fixed = [
        ("empty", b""), ("blank-lines", b"\n\n  \n"), ("one-less", "\n".join(names[:-1]).encode()),
        ("one-more", (good + "extra\n").encode()), ("10001-lines", "\n".join(f"c{i}" for i in range(10_001)).encode()),
        ("long-name", ("x" * 300 + "\n" + "\n".join(names[1:])).encode()), ("crlf", good.replace("\n", "\r\n").encode()),
        ("bom", b"\xef\xbb\xbf" + good.encode()), ("nul", good.replace(names[0], "a\x00b").encode()),
        ("ansi", good.replace(names[0], "\x1b[2J\x1b[31mPWNED").encode()),
        ("line-separator", good.replace(names[0], "a\u2028b").encode()), ("oversize", b"a" * (2 << 20)),
        ("utf16", good.encode("utf-16")), ("only-newlines", b"\n" * 100_000),
    ]
    out = list(fixed)
    for n in range(max(0, count - len(fixed))):
        raw = bytearray(good.encode())
        kind = ("bad-utf8", "bytes", "truncate")[n % 3]
        if kind == "bad-utf8":
            pos = rng.randrange(len(raw) + 1)
            raw[pos:pos] = rng.choice(BAD_UTF8)
        elif kind == "bytes":
            for _ in range(rng.randrange(1, 5)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        else:
            del raw[rng.randrange(len(raw)):]
        out.append((f"{kind}-{n}", bytes(raw)))
    return out


def tf_config_mutants(count: int, seed: int) -> list[tuple[str, bytes]]:
    """Malformed TF_CONFIG values: the JSON mutants of a valid one, and the cluster mistakes people make."""
    base = {"cluster": {"worker": ["127.0.0.1:23456", "127.0.0.1:23457"]}, "task": {"type": "worker", "index": 0}}

    def doc(cluster: Any, task: Any) -> bytes:
        return json.dumps({"cluster": cluster, "task": task}).encode()

    semantic = [
        ("index-true", doc(base["cluster"], {"type": "worker", "index": True})),
        ("index-negative", doc(base["cluster"], {"type": "worker", "index": -1})),
        ("index-out-of-range", doc(base["cluster"], {"type": "worker", "index": 5})),
        ("index-float", doc(base["cluster"], {"type": "worker", "index": 1.0})),
        ("index-string", doc(base["cluster"], {"type": "worker", "index": "0"})),
        ("same-address-twice", doc({"worker": ["127.0.0.1:23456", "127.0.0.1:23456"]}, base["task"])),
        ("same-address-chief", doc({"chief": ["127.0.0.1:23456"], "worker": ["127.0.0.1:23456"]}, base["task"])),
        ("localhost-alias", doc({"worker": ["localhost:23456", "127.0.0.1:23456"]}, base["task"])),
        ("no-port", doc({"worker": ["host"]}, base["task"])), ("port-99999", doc({"worker": ["h:99999"]}, base["task"])),
        ("port-0", doc({"worker": ["h:0"]}, base["task"])), ("empty-host", doc({"worker": [":1"]}, base["task"])),
        ("ipv6", doc({"worker": ["[::1]:23456", "::1:23457"]}, base["task"])),
        ("two-chiefs", doc({"chief": ["a:1", "b:2"]}, {"type": "chief", "index": 0})),
        ("ps-task", doc(base["cluster"], {"type": "ps", "index": 0})),
        ("worker-string", doc({"worker": "127.0.0.1:1"}, base["task"])), ("no-jobs", doc({}, base["task"])),
        ("no-task", json.dumps({"cluster": base["cluster"]}).encode()),
        ("non-utf8", doc(base["cluster"], base["task"]).replace(b"worker", b"work\xffer", 1)),
        ("oversize", doc({"worker": [f"h{i}:1" for i in range(20_000)]}, base["task"])),
        ("1025-workers", doc({"worker": [f"h{i}:1" for i in range(1025)]}, base["task"])),
        ("newline-address", doc({"worker": ["a:1\nb:2"]}, base["task"])),
    ]
    return semantic + json_mutants(base, max(0, count - len(semantic)), seed)
