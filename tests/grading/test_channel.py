"""The channel between the grader's checker and a student's kernel (course.channel), with a plain
subprocess as the kernel (no sandbox): the wire format, proxies both ways, nested calls, counts
kept in the checker, refusals, a kernel that dies mid-call, and the cost per call."""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from course.channel import Checker, kernel_view
from course.channel.codec import (
    DTYPES,
    MAX_FRAME,
    MAX_ITEMS,
    ChannelError,
    Encoder,
    decode,
    decode_frame,
    encode_frame,
    frame_parts,
)
from course.checks._core import CallCounter, Task, assert_close, fail, student_call, task_check
from tests.grading.channel_forgery import FORGE

ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------------------------
# the harness: a subprocess "kernel" that runs cells sent on stdin, connected to a Checker
# ---------------------------------------------------------------------------------------------
KERNEL = r"""
import io, json, os, sys
from course.channel.kernel import connect_from_env
channel = connect_from_env()
if os.environ.get("HARNESS_VIEW"):  # the sandbox's file view, simulated by an import blocker
    import importlib.abc
    from course.channel import kernel_view
    allowed = {p.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
               for p in kernel_view(channel.package).files}
    allowed.add("course.checks." + channel.package)
    class _Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            if top in ("reference_impl", "jax", "jaxlib", "autograd", "torch") or (
                    top == "course" and name not in allowed):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, _Blocker())
proto = os.fdopen(os.dup(1), "w")
g = {"__name__": "__main__"}
for line in sys.stdin:
    msg = json.loads(line)
    buf = io.StringIO()
    sys.stdout = buf
    try:
        exec(compile(msg["src"], f"<cell {msg['i']}>", "exec"), g)
        err = None
    except BaseException as e:
        err = f"{type(e).__name__}: {e}"
    finally:
        sys.stdout = sys.__stdout__
    proto.write(json.dumps({"i": msg["i"], "err": err, "out": buf.getvalue()}) + "\n")
    proto.flush()
"""


class HarnessKernel:
    """A Checker and a plain subprocess kernel connected to it; :meth:`run` runs one cell."""

    def __init__(self, package: str, tmp: Path, module: Any = None, view: bool = False):
        self.checker = Checker(package, tmp / "channel.sock", module=module, lost_wait=5)
        self.checker.start()
        env = {**os.environ, "COURSE_CHANNEL": str(tmp / "channel.sock")}
        if view:
            env["HARNESS_VIEW"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", KERNEL],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.index = 0

    def run(
        self, src: str, task: str | None = None, expected: tuple[str, ...] = ()
    ) -> tuple[Any, dict[str, Any] | None]:
        """Run a cell; (the checker's verdict or None for an ungraded cell, the kernel's reply
        or None if it died)."""
        self.index += 1
        self.checker.begin_cell(self.index, task, expected)
        reply = None
        try:
            self.proc.stdin.write(json.dumps({"i": self.index, "src": src}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            reply = json.loads(line) if line else None
        except (BrokenPipeError, OSError):
            pass
        verdict = self.checker.end_cell(self.index)
        return (verdict if task else None), reply

    @property
    def round_trips(self) -> int:
        """Requests the checker served and sent (each one round trip over the socket)."""
        ep = self.checker.endpoint
        return 0 if ep is None else ep.served + ep.requests

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.checker.close()


# ---------------------------------------------------------------------------------------------
# the wire format
# ---------------------------------------------------------------------------------------------
def _round_trip(x: Any) -> Any:
    frame = encode_frame({"v": x}, lambda obj: pytest.fail(f"{obj!r} became a handle"))
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    header, buffers = decode_frame(frame[4:])
    v = header["v"]
    if isinstance(v, memoryview):
        v = decode(v, buffers, lambda tag, *h: pytest.fail("a handle"))
    return v


@pytest.mark.parametrize(
    "x",
    [
        None,
        True,
        False,
        0,
        -7,
        2**70,
        1.5,
        -0.0,
        "ünïcode ∇",
        b"\x00\x01bytes",
        3 - 4j,
        (1, (2.0, "a")),
        [1, [2, [3]]],
        {"a": 1, 2: (3,), None: [4.5]},
        (),
        np.arange(6.0).reshape(2, 3),
        np.array([1 + 2j]),
        np.zeros((0, 3), dtype=np.int32),
        np.array([True, False]),
        np.float64(2.5),
        np.int64(-3),
        np.float32(0.25),
        np.arange(12, dtype=np.uint8).reshape(3, 4).T,  # not C-contiguous
    ],
)
def test_codec_round_trip(x: Any) -> None:
    y = _round_trip(x)
    assert type(y) is type(x)
    if isinstance(x, np.ndarray):
        assert y.dtype == x.dtype and y.shape == x.shape and np.array_equal(x, y)
        assert y.flags.writeable and y.flags.owndata
    else:
        assert y == x


def test_codec_non_finite_floats() -> None:
    y = _round_trip((math.nan, math.inf, -math.inf, np.array([np.nan, np.inf])))
    assert math.isnan(y[0]) and y[1] == math.inf and y[2] == -math.inf
    assert np.isnan(y[3][0]) and np.isinf(y[3][1])


def test_codec_hands_over_what_is_not_plain() -> None:
    handed: list[Any] = []
    enc = Encoder(lambda obj: handed.append(obj) or ["h", len(handed)])
    enc.encode([len, np.array([object()], dtype=object), {1, 2}])
    assert handed[0] is len and handed[1].dtype == object and handed[2] == {1, 2}
    seen: list[Any] = []
    got = decode(bytes(enc.out), [], lambda tag, *h: seen.append((tag, h)) or "proxy")
    assert got == ["proxy"] * 3 and seen == [("h", (1,)), ("h", (2,)), ("h", (3,))]


def test_codec_large_arrays_travel_as_views() -> None:
    """From 64 KiB an array's bytes are a buffer of the frame: sent from the array's memory (no
    copy), decoded into an array of its own; other byte orders arrive native."""
    a = np.arange(20_000.0).reshape(100, 200)[:, ::2]  # not contiguous
    b = np.arange(10_000.0)
    parts = frame_parts({"v": (a, b, np.arange(3, dtype=">i4"))})
    assert len(parts) == 5 and isinstance(parts[4], memoryview)
    assert np.shares_memory(np.frombuffer(parts[4], dtype=float), b)
    header, buffers = decode_frame(b"".join(parts)[4:])
    x, y, z = decode(header["v"], buffers, lambda *h: pytest.fail("a handle"))
    assert np.array_equal(x, a) and np.array_equal(y, b) and y.flags.owndata
    assert z.dtype == np.dtype("int32") and z.dtype.isnative and list(z) == [0, 1, 2]


def _tag(t: str, fmt: str = "", *values: Any) -> bytes:
    return t.encode() + struct.pack("<" + fmt, *values)


def _array_bytes(code: int, shape: tuple[int, ...], data: bytes, scalar: int = 0) -> bytes:
    head = struct.pack("<BBB", code, scalar, len(shape))
    return b"a" + head + struct.pack(f"<{len(shape)}Q", *shape) + data


@pytest.mark.parametrize(
    "raw, buffers",
    [
        (_array_bytes(len(DTYPES), (1,), b"\x00" * 8), []),  # a dtype code outside the list
        (_array_bytes(255, (1,), b"\x00" * 8), []),  # (object, void, strings: no code)
        (_array_bytes(DTYPES.index("float64"), (3,), b"\x00" * 8), []),  # bytes ≠ shape
        (_array_bytes(DTYPES.index("float64"), (2**62, 4), b"\x00" * 8), []),
        (_array_bytes(DTYPES.index("float64"), (1,), b"\x00" * 8, scalar=1), []),  # 1-d scalar
        (b"A" + struct.pack("<BBBQI", 11, 0, 1, 1, 3), [memoryview(b"\x00" * 8)]),  # no buffer 3
        (b"A" + struct.pack("<BBBQI", 11, 0, 1, 2, 0), [memoryview(b"\x00" * 8)]),  # 8 ≠ 16 bytes
        (b"p" + b"cos\nsystem\n(S'echo hi'\ntR.", []),  # a pickle-like payload: no such tag
        (b"\x80\x04\x95", []),  # a pickle's opening bytes
        (_tag("s", "I", 10) + b"short", []),  # a truncated string
        (_tag("y", "I", 2**31), []),  # bytes longer than the frame
        (_tag("t", "I", 2) + _tag("f", "d", 1.0), []),  # a truncated tuple
        (_tag("l", "I", 2**32 - 1), []),
        (_tag("i", "q", 1) + b"x", []),  # bytes after the value
        (_tag("d", "I", 1) + _tag("l", "I", 0) + _tag("i", "q", 2), []),  # an unhashable key
        (_tag("I", "I", 6000) + b"9" * 6000, []),  # an int of 6000 digits
        (_tag("I", "I", 3) + b"1e3", []),  # not an int
        (_tag("H", "qqB", 1, 2, 50) + b"Short", []),  # a truncated class name
        (b"", []),
    ],
)
def test_codec_refuses(raw: bytes, buffers: list[memoryview]) -> None:
    with pytest.raises(ChannelError):
        decode(raw, buffers, lambda tag, *h: ("proxy", tag, h))


def test_codec_refuses_oversized_and_deep() -> None:
    enc = Encoder(lambda obj: ["h", 1])
    with pytest.raises(ChannelError):
        enc.encode(list(range(MAX_ITEMS + 1)))
    nested: Any = 1
    for _ in range(200):
        nested = [nested]
    with pytest.raises(ChannelError):
        Encoder().encode(nested)
    deep = _tag("l", "I", 1) * 200 + _tag("N")
    with pytest.raises(ChannelError, match="deeply nested"):
        decode(deep, [], lambda *h: None)
    many = _tag("l", "I", MAX_ITEMS + 1) + _tag("N") * (MAX_ITEMS + 1)
    with pytest.raises(ChannelError, match="too large"):
        decode(many, [], lambda *h: None)
    with pytest.raises(ChannelError):
        encode_frame({"v": b"\x00" * (65 * 2**20)})
    with pytest.raises(ChannelError):
        encode_frame({"v": "x" * 1_000_001})
    with pytest.raises(ChannelError):
        encode_frame({"v": object()})  # no handles where the caller gives no handle function


def _body(*fields: tuple[bytes, bytes], buffers: tuple[bytes, ...] = ()) -> bytes:
    out = bytes([len(fields)])
    for key, value in fields:
        out += bytes([len(key)]) + key + struct.pack("<I", len(value)) + value
    out += struct.pack("<H", len(buffers))
    for b in buffers:
        out += struct.pack("<Q", len(b)) + b
    return out


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x01",  # a field promised, none there
        _body((b"v", _tag("i", "q", 1)))[:-3],  # truncated
        _body((b"v", _tag("i", "q", 1))) + b"\x00",  # bytes after the last buffer
        _body((b"v", b"")),  # an empty value
        _body((b"v", _tag("i", "q", 1)))[:-2] + struct.pack("<H", 1),  # a buffer promised
        _body(buffers=(b"abc",))[:-2],  # a truncated buffer
        _body((b"\xff", _tag("N"))),  # a key that is not ASCII
        _body((b"v", _tag("s", "I", 2) + b"\xff\xfe")),  # a string that is not UTF-8
        bytes([33]) + b"\x00" * 64,  # more fields than a message has
    ],
)
def test_malformed_frames_are_refused(body: bytes) -> None:
    try:
        header, buffers = decode_frame(body)
    except ChannelError:
        return
    assert set(header) == {"v"} and isinstance(header["v"], memoryview)
    with pytest.raises(ChannelError):
        decode(header["v"], buffers, lambda *h: pytest.fail("resolved"))


def test_framing_over_a_socket(tmp_path: Path) -> None:
    """Frames split across reads, several frames in one read, one frame larger than the read
    buffer, an announced length over the limit, and a peer that closes mid-frame."""
    import socket
    import threading

    from course.channel.endpoint import ChannelLost, Endpoint

    a, b = socket.socketpair()
    ep = Endpoint(b)
    big = np.arange(100_000.0)
    frames = b"".join(encode_frame({"q": "x", "i": i, "a": (i, "ü")}) for i in range(50))
    frames += encode_frame({"q": "big", "a": (big,)})
    sender = threading.Thread(
        target=lambda: [a.sendall(frames[k : k + 7]) for k in range(0, len(frames), 7)]
    )
    sender.start()
    for i in range(50):
        header, buffers = ep.recv()
        assert header["q"] == "x" and header["i"] == i
        assert ep.value(header["a"], buffers) == (i, "ü")
    header, buffers = ep.recv()
    assert np.array_equal(ep.value(header["a"], buffers)[0], big)
    sender.join()
    a.sendall(b"".join(encode_frame({"i": i}) for i in range(3)))  # one read, three frames
    assert [ep.recv()[0]["i"] for _ in range(3)] == [0, 1, 2]
    a.sendall(struct.pack(">I", MAX_FRAME + 1))
    with pytest.raises(ChannelError, match="larger"):
        ep.recv()
    c, d = socket.socketpair()
    ep2 = Endpoint(d)
    c.sendall(encode_frame({"i": 1})[:-2])
    c.close()
    with pytest.raises(ChannelLost):
        ep2.recv()
    for s in (a, b, d):
        s.close()


def test_kernel_view() -> None:
    for package in (
        "finite_differences",
        "forward_mode",
        "reverse_mode",
        "matrix_adjoints",
        "second_order",
    ):
        view = kernel_view(package)
        for path in view.files:
            assert (ROOT / path).is_file(), path
            assert not path.startswith("reference_impl") and "_hidden" not in path
            assert "_reference" not in path
            assert not any(path.startswith(f"course/checks/{package}/t") for _ in [0])
        assert "numpy" in view.packages
        assert not {"reference_impl", "jax", "jaxlib", "autograd", "torch"} & set(view.packages)
    assert kernel_view("matrix_adjoints").packages == ("numpy", "scipy")
    assert "course/checks/second_order/_toolkit.py" in kernel_view("second_order").files
    with pytest.raises(NotImplementedError):
        kernel_view("no_such_package")


def test_the_stub_imports_nothing_of_the_checks(tmp_path: Path) -> None:
    """In a connected kernel, ``import course.checks.second_order`` is the stub: only the files
    of the kernel view are loaded (05's toolkit among them), no check, no reference_impl."""
    k = HarnessKernel("second_order", tmp_path)
    try:
        _, reply = k.run(
            "import sys\nimport course.checks.second_order as check\n"
            "from course.checks.second_order import grad, jvp, vjp\n"
            "print(sorted(m for m in sys.modules if m.startswith(('course', 'reference_impl'))))"
        )
        loaded = set(reply["out"].strip()[2:-2].split("', '"))
        allowed = {
            p.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            for p in kernel_view("second_order").files
        } | {"course.checks.second_order"}
        assert loaded <= allowed, loaded - allowed
        _, reply = k.run(
            "print(grad(lambda x: (x * x).sum())(np.arange(3.0)))\n"
            "print(sorted(n for n in dir(check) if not n.startswith('_')))",
        )
        assert reply["err"] is None or "np" in reply["err"]
    finally:
        k.close()


# ---------------------------------------------------------------------------------------------
# a demo checks module: what a check does with the student's objects
# ---------------------------------------------------------------------------------------------
T = Task("t9_1", "demo", "demo", "демо", 10)
T2 = Task("t9_2", "nested", "nested", "вложенные", 10)
SEEN: dict[str, Any] = {}


class Node:
    """A course class handed over: the kernel may read/set public attributes and call methods."""

    def __init__(self, value: float):
        self.value = value
        self.grad = 0.0
        self._secret = "course-internal"

    def apply(self, fn: Any) -> Any:
        return fn(self)

    def __mul__(self, other: Any) -> Node:
        return Node(self.value * (other.value if isinstance(other, Node) else other))

    __rmul__ = __mul__


@task_check(T)
def t9_1(fn: Any) -> None:
    """fn(f, x) must return f(x) + f(2x), calling f exactly twice."""
    f = CallCounter(lambda z: z * z)
    x = np.arange(3.0)
    got = student_call(T, "fn(f, x)", fn, f, x)
    SEEN["got"], SEEN["count"] = got, f.count
    assert_close(T, "fn(f, x)", got, x * x + 4 * x * x)
    if f.count != 2:
        fail(T, f"f called {f.count} times, not 2", show_values=False)


@task_check(T2)
def t9_2(make: Any) -> None:
    """make(Node, cb) builds a Node, calls node.apply(cb) (which calls back the student), and
    returns the result; the result must be a Node with value 6 and grad set to 1."""
    out = student_call(T2, "make(Node, cb)", make, Node, lambda v: v * 2.0)
    SEEN["out"] = out
    if not isinstance(out, Node) or out.value != 6.0 or out.grad != 1.0:
        fail(T2, "not a Node of value 6 with grad 1", obtained=out, expected="Node(6)")


T3 = Task("t9_3", "rng", "rng", "генератор", 10)


@task_check(T3)
def t9_3(fn: Any) -> None:
    """fn(rng) must return the sum of 20 draws of rng.standard_normal() (one call each); called
    twice with the same generator."""
    g, draws = np.random.default_rng(7), np.random.default_rng(7).standard_normal(40)
    for k in range(2):
        got = student_call(T3, "fn(rng)", fn, g)
        assert_close(T3, "fn(rng)", got, draws[20 * k : 20 * k + 20].sum())


T5 = Task("t9_5", "in-place", "in place", "на месте", 10)
T6 = Task("t9_6", "kept", "kept results", "сохранённые результаты", 10)


@task_check(T5)
def t9_5(fn: Any) -> None:
    """fn(x, steps) must return x * sum(steps) and change neither argument (the comparison of
    course/checks' _common.unchanged, in short)."""
    x, steps = np.arange(4.0), [1.0, 2.0]
    saved = {"x": x.copy(), "steps": list(steps)}
    got = student_call(T5, "fn(x, steps)", fn, x, steps)
    SEEN["x"], SEEN["steps"] = x, steps
    for name, now in (("x", x), ("steps", steps)):
        then = saved[name]
        if len(now) != len(then) or not np.array_equal(np.asarray(now), np.asarray(then)):
            fail(T5, f"input changed in place: fn modified its argument {name}", obtained=now)
    assert_close(T5, "fn(x, steps)", got, saved["x"] * 3.0)


@task_check(T6)
def t9_6(fn: Any) -> None:
    """fn(x) must return 2x; what it returned must not change when it is called again (the
    comparison of course/checks' _common.Kept, in short): fn(x), fn(y), fn(x)."""
    x, y = np.arange(3.0), np.ones(3)
    first = student_call(T6, "fn(x)", fn, x)
    kept = np.array(first, copy=True)
    second = student_call(T6, "fn(y)", fn, y)
    SEEN["first"] = first
    if not np.array_equal(first, kept):
        fail(T6, "result changed by a later call: fn(x) changed when fn(y) ran", obtained=first)
    assert_close(T6, "fn(x)", first, 2 * x)
    assert_close(T6, "fn(y)", second, 2 * y)
    assert_close(T6, "fn(x)", student_call(T6, "fn(x)", fn, x), 2 * x)


T7 = Task("t9_7", "kept-argument", "kept argument", "сохранённый аргумент", 10)


@task_check(T7)
def t9_7(make: Any) -> None:
    """make(steps) returns an object whose total() is sum(steps); steps must stay as given, also
    when the object keeps it and works on it later."""
    steps = [1.0, 2.0]
    obj = student_call(T7, "make(steps)", make, steps)
    total = student_call(T7, "obj.total()", obj.total)
    SEEN["steps"] = steps
    if steps != [1.0, 2.0]:
        fail(T7, "input changed in place: make's object modified steps", obtained=steps)
    assert_close(T7, "obj.total()", total, 3.0)


T8 = Task("t9_8", "careless", "a careless check", "небрежная проверка", 10)


@task_check(T8)
def t9_8(fn: Any) -> None:
    """fn(x) must return 2x. This check never compares x after the call and computes the
    expected value from x afterwards: in one process a student's in-place change could fool it;
    over the channel the checker fails every check whose arguments the kernel changed."""
    x = np.arange(1.0, 5.0)
    got = student_call(T8, "fn(x)", fn, x)
    assert_close(T8, "fn(x)", got, 2 * x)


DEMO = types.SimpleNamespace(
    __all__=["t9_1", "t9_2", "t9_3", "t9_5", "t9_6", "t9_7", "t9_8"],
    HIDDEN=(),
    t9_1=t9_1,
    t9_2=t9_2,
    t9_3=t9_3,
    t9_5=t9_5,
    t9_6=t9_6,
    t9_7=t9_7,
    t9_8=t9_8,
)


@pytest.fixture
def kernel(tmp_path: Path) -> Any:
    k = HarnessKernel("channel_demo", tmp_path, module=DEMO)
    k.run("import numpy as np\nimport course.checks.channel_demo as check")
    yield k
    k.close()


def test_checks_pass_and_counts_stay_in_the_checker(kernel: HarnessKernel) -> None:
    v, reply = kernel.run(
        "def fn(f, x):\n    return f(x) + f(2 * x)\ncheck.t9_1(fn)", "t9_1", ("t9_1",)
    )
    assert v.passed and v.ran == ("t9_1",) and not v.messages, v
    assert reply["err"] is None and "✓" in reply["out"]
    assert isinstance(SEEN["got"], np.ndarray) and SEEN["count"] == 2


def test_a_wrong_answer_fails_with_the_message_the_student_sees(kernel: HarnessKernel) -> None:
    v, reply = kernel.run(
        "def fn(f, x):\n    return f(x) + f(x)\ncheck.t9_1(fn)", "t9_1", ("t9_1",)
    )
    assert not v.passed and "wrong fn(f, x)" in v.messages[0]
    assert reply["err"].startswith("CheckFailure") and "wrong fn(f, x)" in reply["err"]


def test_the_verdict_ignores_what_the_kernel_swallows_or_prints(kernel: HarnessKernel) -> None:
    src = (
        "def fn(f, x):\n    return f(x)\n"
        "try:\n    check.t9_1(fn)\nexcept BaseException:\n    pass\n"
        "print('✓ Task 9.1: visible tests passed')"
    )
    v, reply = kernel.run(src, "t9_1", ("t9_1",))
    assert reply["err"] is None and not v.passed


def test_counting_cannot_be_reached_from_the_kernel(kernel: HarnessKernel) -> None:
    """f's counter, the wrapped function and the check's globals are not reachable; an extra
    call through the raw endpoint is counted like any other."""
    src = """
import course.channel.kernel as K
found = []
def fn(f, x):
    for name in ("fn", "calls", "count", "__globals__", "__closure__", "_secret", "__class__",
                 "__dict__", "__wrapped__", "__code__"):
        try:
            found.append((name, getattr(f, name)))
        except Exception as e:
            found.append((name, type(e).__name__))
    ep = K._CHANNEL[0].endpoint
    for op, a in [("getattr", ("fn",)), ("setattr", ("calls", [])), ("getattr", ("__globals__",))]:
        try:
            found.append((op, ep.request(op, h=f, a=a)))
        except Exception as e:
            found.append((op, type(e).__name__))
    return f(x) + f(2 * x)
check.t9_1(fn)
print(found)
"""
    v, reply = kernel.run(src, "t9_1", ("t9_1",))
    assert v.passed, v
    out = reply["out"]
    for name in ("fn", "calls", "count", "__globals__", "__closure__", "getattr", "setattr"):
        assert f"('{name}', 'AttributeError')" in out, out
    assert "AttributeError" in out and "function" not in out.replace("functions", "")
    assert SEEN["count"] == 2 and "<lambda>" not in out


def test_proxies_both_ways_and_nested_calls(kernel: HarnessKernel) -> None:
    """The checker calls make (kernel), which builds a Node (checker) and calls node.apply(cb)
    (checker), which calls the student's callback (kernel), which uses the node (checker)."""
    src = """
def make(Node, cb):
    node = Node(1.5)
    out = node.apply(lambda n: Node(cb(n.value)) * 2)
    out.grad = 1.0
    assert out.value == 6.0 and isinstance(out, Node) and type(out) is not Node
    try:  # the checker lends the classes of the course only (this test's Node is not one)
        type(out)(2.0)
        raise SystemExit("a class lent")
    except TypeError:
        pass
    for bad in ("_secret", "__dict__", "__globals__"):
        try:
            getattr(out, bad)
            raise SystemExit("leak " + bad)
        except AttributeError:
            pass
    return out
check.t9_2(make)
"""
    v, reply = kernel.run(src, "t9_2", ("t9_2",))
    assert v.passed, (v, reply)
    assert isinstance(SEEN["out"], Node) and SEEN["out"].grad == 1.0  # the checker's own object


def test_kernel_objects_as_proxies_in_the_checker(kernel: HarnessKernel) -> None:
    """A result that is not plain data stays in the kernel: the checker sees a proxy whose
    operators, __array__ and NumPy ufuncs are requests."""
    src = """
class Box:
    def __init__(self, v): self.v = np.asarray(v, dtype=float)
    def __array__(self, dtype=None, copy=None): return self.v
    def __add__(self, o): return Box(self.v + np.asarray(o))
    __radd__ = __add__
    def __len__(self): return len(self.v)
    def __getitem__(self, i): return float(self.v[i])
def fn(f, x):
    return Box(f(x) + f(2 * x))
check.t9_1(fn)
"""
    v, _ = kernel.run(src, "t9_1", ("t9_1",))
    assert v.passed, v
    got = SEEN["got"]
    assert type(got).__name__ == "Box"  # a proxy whose class is the kernel's, by name
    with pytest.raises(ChannelError, match="after its check ended"):
        np.asarray(got)  # released with the check


def test_checks_count_only_in_their_cell(kernel: HarnessKernel) -> None:
    kernel.run("def fn(f, x):\n    return f(x) + f(2 * x)")
    _, reply = kernel.run("check.t9_1(fn)")  # a free cell
    assert "own grade cell" in reply["err"]
    v, _ = kernel.run("pass", "t9_1", ("t9_1",))
    assert not v.passed and "did not run t9_1" in v.messages[0]
    v, _ = kernel.run("check.t9_2(fn)", "t9_1", ("t9_1",))  # another task's check
    assert not v.passed
    v, _ = kernel.run("check.t9_1(fn)\ncheck.t9_1(lambda f, x: 0)", "t9_1", ("t9_1",))
    assert not v.passed  # every call must pass


def test_a_check_inside_a_check_and_stale_handles(kernel: HarnessKernel) -> None:
    src = """
kept = []
def fn(f, x):
    kept.append(f)
    check.t9_1(fn)
    return f(x) + f(2 * x)
try:
    check.t9_1(fn)
except Exception as e:
    print("first:", type(e).__name__)
try:
    kept[0](1.0)
except Exception as e:
    print("stale:", type(e).__name__, e)
"""
    v, reply = kernel.run(src, "t9_1", ("t9_1",))
    assert not v.passed
    assert "stale" in reply["out"] and "ChannelError" in reply["out"]


def test_a_method_of_the_checkers_object_is_fetched_once(kernel: HarnessKernel) -> None:
    """``rng.standard_normal`` of the checker's Generator: one getattr, then one round trip per
    call, also when the generator is handed over again; the method proxy ends with the check
    like every other."""
    src = """
kept = []
def fn(rng):
    kept.append(rng.standard_normal)
    return sum(rng.standard_normal() for _ in range(20))
check.t9_3(fn)
try:
    kept[0]()
except Exception as e:
    print("stale:", type(e).__name__)
"""
    before = kernel.round_trips
    v, reply = kernel.run(src, "t9_3", ("t9_3",))
    assert v.passed, v
    assert "stale: ChannelError" in reply["out"]
    # the check + 2 calls of fn + 1 getattr + 40 draws (82 trips with a getattr per draw)
    assert kernel.round_trips - before == 44


def test_which_methods_are_the_same_every_time() -> None:
    from course.channel.endpoint import _same_method

    rng = np.random.default_rng(0)
    assert _same_method(rng, "normal", rng.normal)

    class Open:
        def f(self) -> None: ...

    class Slotted:
        __slots__ = ()

        def f(self) -> None: ...

    class Dynamic(Slotted):
        __slots__ = ()

        def __getattribute__(self, name: str) -> Any:
            return object.__getattribute__(self, name)

    o, s, d = Open(), Slotted(), Dynamic()
    assert not _same_method(o, "f", o.f)  # an instance may rebind f
    assert _same_method(s, "f", s.f)
    assert not _same_method(d, "f", d.f)
    assert not _same_method(s, "g", s.f) and not _same_method(rng, "x", len)


# ---------------------------------------------------------------------------------------------
# faithful calls (course/channel/faithful.py): changes in place in the kernel reach the checker
# ---------------------------------------------------------------------------------------------
#: a cell's prologue: the kernel's counters (frames and bytes it sent, updates, arrays followed)
COUNTERS = """
import json
import course.channel.kernel as K
ep = K._CHANNEL[0].endpoint
SENT, LIVE = [0], []
_send = ep._send_gathered
def _counted(parts):
    SENT[0] += sum(memoryview(p).nbytes for p in parts)
    _send(parts)
ep._send_gathered = _counted
def followed():
    t = ep.tracker
    LIVE.append(-1 if t is None else sum(f.current() is not None for f in t.arrays.values()))
def counters(before=(0, 0)):
    t = ep.tracker
    print(json.dumps([ep.frames_sent - before[0], SENT[0] - before[1],
                      -1 if t is None else t.updates_sent, LIVE]))
"""


def _counters(reply: dict[str, Any]) -> list[Any]:
    return json.loads(reply["out"].strip().splitlines()[-1])


def test_both_sides_number_the_same_arrays_in_the_same_order() -> None:
    """faithful.walk on a value and on what the codec decodes it to finds the same arrays,
    lists and dicts in the same order (the ids ``ai``/``ri`` rest on it): scalars, object and
    long-double arrays, array subclasses (handles) are skipped on both sides."""
    from course.channel.faithful import walk

    class Sub(np.ndarray):
        pass

    a, b = np.arange(3.0), np.arange(4, dtype=">i4")
    value = (
        a,
        [b, {"k": a, 2: [np.float64(1.0), np.zeros((2, 2))]}],
        np.array([object()]),
        np.zeros(2).view(Sub),
        np.zeros(2, dtype=np.longdouble),
        (np.ones(1), [[], {}]),
        {"kw": [a]},
    )
    frame = encode_frame({"v": value}, lambda obj: ["h", id(obj)])
    header, buffers = decode_frame(frame[4:])
    decoded = decode(header["v"], buffers, lambda *h: ("proxy", h))

    def shapes(x: Any) -> list[Any]:
        return [(type(v).__name__, getattr(v, "shape", len(v))) for v in walk(x)]

    assert shapes(value) == shapes(decoded), (shapes(value), shapes(decoded))
    assert [s for s in shapes(value) if s[0] == "ndarray"] == [
        ("ndarray", (3,)),
        ("ndarray", (4,)),
        ("ndarray", (3,)),
        ("ndarray", (2, 2)),
        ("ndarray", (1,)),
        ("ndarray", (3,)),
    ]


def test_the_mirror_writes_only_into_what_it_numbered() -> None:
    """The checker's side of faithful calls: an update for an id it gave writes into its own
    object in place if it fits (same shape, a kind it takes, writable); anything else — an id it
    never gave, another shape, a read-only array, a malformed item — is ignored."""
    from course.channel.faithful import Mirror

    m = Mirror()
    x, ro, ints, lst, d = np.arange(3.0), np.arange(2.0), np.arange(2), [1.0], {"a": 1}
    ro.flags.writeable = False
    first = m.arguments((x, ro, ints, lst), {"d": d})
    assert first == -1 and m.arguments((1.0, "s"), None) is None
    m.apply(
        [
            (-1, np.ones(4)),  # another shape
            (-2, np.ones(2)),  # read-only
            (-3, np.full(2, 0.5)),  # a float into an int array
            (-4, np.ones(1)),  # an array for a list
            (-99, np.ones(3)),  # never given
            ("-1", np.ones(3)),
            (-1,),
            (-1, np.full(3, 7.0)),
            (-4, [2.0, 3.0]),
            (-5, {"b": 2}),
        ]
    )
    assert np.array_equal(x, [7.0] * 3) and np.array_equal(ro, [0.0, 1.0]), (x, ro)
    assert np.array_equal(ints, [0, 1]) and lst == [2.0, 3.0] and d == {"b": 2}
    assert m.updates_applied == 3
    m.apply("junk")
    m.clear()
    m.apply([(-1, np.zeros(3))])  # the check ended: nothing is written
    assert np.array_equal(x, [7.0] * 3)


@pytest.mark.parametrize(
    "change, name",
    [
        ("x -= 1.0", "x"),
        ("x[1:] = 0.0", "x"),
        ("steps.clear()", "steps"),
        ("steps[0] = 9.0", "steps"),
    ],
)
def test_an_argument_changed_in_place_reaches_the_checker(
    kernel: HarnessKernel, change: str, name: str
) -> None:
    """The student's function changes an argument in place: the kernel's copy changes, and the
    reply writes the change into the checker's original, so the check's own before/after
    comparison fails with its message (without faithful calls the check passed)."""
    src = (
        f"def fn(x, steps):\n    out = x * sum(steps)\n    {change}\n    return out\ncheck.t9_5(fn)"
    )
    v, _ = kernel.run(src, "t9_5", ("t9_5",))
    assert not v.passed, "the change in place never reached the checker"
    assert f"input changed in place: fn modified its argument {name}" in v.messages[0], v.messages
    x, steps = SEEN["x"], SEEN["steps"]
    assert isinstance(x, np.ndarray) and isinstance(steps, list)  # the checker's own objects
    expected = {"x -= 1.0": np.arange(4.0) - 1, "x[1:] = 0.0": [0.0, 0, 0, 0]}
    if change in expected:
        assert np.array_equal(x, expected[change]) and steps == [1.0, 2.0], (x, steps)
    else:
        assert np.array_equal(x, np.arange(4.0)) and steps == (
            [] if "clear" in change else [9.0, 2.0]
        )
    assert kernel.checker.endpoint.mirror.updates_applied >= 1


def test_a_check_that_passed_fails_when_the_kernel_changed_its_argument(
    kernel: HarnessKernel,
) -> None:
    """A hostile kernel zeroes the checker's x and returns zeros: the careless check t9_8 would
    then compare 0 with 2·0 and pass. The checker fails a check during which the kernel wrote
    into one of its arguments, whatever the check concluded; the honest fn passes."""
    v, _ = kernel.run(
        "def fn(x):\n    x[:] = 0.0\n    return 0.0 * x\ncheck.t9_8(fn)", "t9_8", ("t9_8",)
    )
    assert not v.passed, "the kernel moved the checker's data and the check passed"
    assert "input changed in place: the code under test wrote into an argument" in v.messages[0]
    v, _ = kernel.run("def fn(x):\n    return 2.0 * x\ncheck.t9_8(fn)", "t9_8", ("t9_8",))
    assert v.passed, v.messages


@pytest.mark.parametrize(
    "buffer",
    [
        "_BUF = np.zeros(3)\ndef fn(x):\n    np.multiply(x, 2, out=_BUF)\n    return _BUF",
        # a view made anew on every call (it dies after the reply; its buffer lives on)
        "_BUF = np.zeros((2, 3))\ndef fn(x):\n    _BUF[0] = 2 * x\n    return _BUF[0]",
        # a list (held by the kernel while something else holds it) refilled on every call
        "_OUT = []\ndef fn(x):\n    _OUT[:] = [float(v) for v in 2 * x]\n    return _OUT",
    ],
    ids=["buffer", "view-of-buffer", "list-refilled"],
)
def test_a_result_that_shares_a_buffer_changes_with_the_later_call(
    kernel: HarnessKernel, buffer: str
) -> None:
    """The student returns (a view of) a module-level buffer that the next call overwrites: the
    reply to the next call carries the new contents of the first result, which the checker's
    copy takes, so the check's re-comparison fails (without faithful calls it passed)."""
    v, _ = kernel.run(buffer + "\ncheck.t9_6(fn)", "t9_6", ("t9_6",))
    assert not v.passed, "the overwritten result never reached the checker"
    assert "result changed by a later call" in v.messages[0], v.messages
    assert np.array_equal(SEEN["first"], [2.0, 2.0, 2.0]), SEEN["first"]  # fn(y)'s values


def test_an_argument_kept_and_changed_by_a_later_call_reaches_the_checker(
    kernel: HarnessKernel,
) -> None:
    """The student's object keeps the list it was given and empties it in a later method call:
    the reply to that call carries the change (the kernel holds the list while something else
    does), and the check's comparison fails (without faithful calls, and with the list compared
    only at the reply of the call it came with, it passed)."""
    src = (
        "class Acc:\n"
        "    def __init__(self, steps):\n        self.steps = steps\n"
        "    def total(self):\n"
        "        t = sum(self.steps)\n        self.steps.clear()\n        return t\n"
        "check.t9_7(Acc)\n"
    )
    v, _ = kernel.run(src, "t9_7", ("t9_7",))
    assert not v.passed and "input changed in place" in v.messages[0], v.messages
    assert SEEN["steps"] == [], SEEN["steps"]
    src = "class Acc:\n    def __init__(self, steps):\n        self.steps = steps\n"
    src += "    def total(self):\n        return sum(self.steps)\ncheck.t9_7(Acc)\n"
    v, _ = kernel.run(src, "t9_7", ("t9_7",))
    assert v.passed, v.messages  # kept and left alone: nothing sent


def test_a_cached_result_that_stays_the_same_sends_no_update(kernel: HarnessKernel) -> None:
    """A cache keyed correctly (issue 22: it keeps full marks): the kernel follows the cached
    arrays (they live on) and sends nothing, since they never change; the same array returned
    again keeps its id."""
    src = COUNTERS + (
        "cache = {}\n"
        "def fn(x):\n"
        "    followed()\n"
        "    if x.tobytes() not in cache:\n"
        "        cache[x.tobytes()] = 2 * x\n"
        "    return cache[x.tobytes()]\n"
        "check.t9_6(fn)\ncounters()\n"
    )
    v, reply = kernel.run(src, "t9_6", ("t9_6",))
    assert v.passed, v.messages
    _, _, updates, live = _counters(reply)
    assert live == [1, 2, 3], live  # the argument, then the cached results too: followed
    assert updates == 0 and kernel.checker.endpoint.mirror.updates_applied == 0


def test_an_honest_function_costs_no_update(tmp_path: Path, monkeypatch: Any) -> None:
    """Honest code returns fresh arrays: they die once encoded, so the kernel follows only the
    call's own argument, sends no update, no extra frame, and a few bytes per reply (the ids of
    the result's arrays), against the same checks with faithful calls off."""
    src = COUNTERS + (
        "def fn(x, steps):\n    followed()\n    return x * sum(steps)\n"
        "def g(x):\n    followed()\n    return 2 * x\n"
        "check.t9_5(fn)\ncheck.t9_6(g)\ncounters()\n"
    )
    figures = []
    for on in (True, False):
        if not on:
            monkeypatch.setenv("COURSE_CHANNEL_FAITHFUL", "0")
        (tmp_path / str(on)).mkdir()
        k = HarnessKernel("channel_demo", tmp_path / str(on), module=DEMO)
        try:
            k.run("import numpy as np\nimport course.checks.channel_demo as check")
            v, reply = k.run(src, "t9_5", ("t9_5", "t9_6"))
            assert v.passed, v.messages
            figures.append(_counters(reply))
            applied = k.checker.endpoint.mirror.updates_applied if on else 0
        finally:
            k.close()
    (frames, sent, updates, live), (frames_off, sent_off, _, _) = figures
    assert live == [1, 1, 1, 1], live  # dead weak references cost nothing
    assert updates == 0 and applied == 0
    assert frames == frames_off, (frames, frames_off)
    assert 0 < sent - sent_off <= 32 * 4, (sent, sent_off)  # "ri" on the 4 replies with arrays


def test_a_kernel_that_dies_mid_call(kernel: HarnessKernel) -> None:
    src = "import os\ndef fn(f, x):\n    f(x)\n    os._exit(3)\ncheck.t9_1(fn)"
    v, reply = kernel.run(src, "t9_1", ("t9_1",))
    assert reply is None
    assert not v.passed and v.kernel_lost and "kernel stopped" in v.messages[0]


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x00\x00\x06\x01\x02[]zz",  # a field's length cut off
        b"\x00\x00\x00\x05\x00\x00\x00\x00\x00",  # bytes after the last buffer
        b"\x00\x00\x00\x0c\x01\x01a\x03\x00\x00\x00\x80\x04\x95\x00\x00",  # a pickle
    ],
)
def test_malformed_message_fails_the_check(kernel: HarnessKernel, frame: bytes) -> None:
    src = f"""
import course.channel.kernel as K
ep = K._CHANNEL[0].endpoint
def fn(f, x):
    ep.sock.sendall({frame!r})
    return f(x) + f(2 * x)
check.t9_1(fn)
"""
    v, _ = kernel.run(src, "t9_1", ("t9_1",))
    assert not v.passed


def _run_bounded(kernel: HarnessKernel, src: str, task: str, bound: float = 120.0) -> Any:
    """Like ``kernel.run`` but a kernel still waiting after ``bound`` s fails the test (instead of
    hanging it): (verdict, the kernel's reply or None)."""
    import select

    kernel.index += 1
    kernel.checker.begin_cell(kernel.index, task, (task,))
    kernel.proc.stdin.write(json.dumps({"i": kernel.index, "src": src}) + "\n")
    kernel.proc.stdin.flush()
    ready, _, _ = select.select([kernel.proc.stdout], [], [], bound)
    if not ready:
        kernel.proc.kill()
        pytest.fail(f"the kernel still waited for the checker after {bound} s")
    line = kernel.proc.stdout.readline()
    return kernel.checker.end_cell(kernel.index), (json.loads(line) if line else None)


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x00\x00\x06\x01\x02[]zz",  # a field's length cut off
        b"\xff\xff\xff\xff",  # a frame longer than the channel allows
    ],
)
def test_a_malformed_frame_between_checks_ends_the_kernels_wait(
    kernel: HarnessKernel, frame: bytes
) -> None:
    """A malformed frame the checker reads while it waits for a check request leaves the stream
    unreadable: the checker stops serving and shuts the connection down, so the kernel's next
    check ends at once with the channel lost (before the fix it waited for the cell's limit)."""
    src = f"""
import course.channel.kernel as K
K._CHANNEL[0].endpoint.sock.sendall({frame!r})
def fn(f, x):
    return f(x) + f(2 * x)
check.t9_1(fn)
"""
    v, reply = _run_bounded(kernel, src, "t9_1")
    assert reply is not None and reply["err"].startswith("ChannelLost"), reply
    assert not v.passed and v.kernel_lost, v
    assert kernel.checker.checks_run == 0


T4 = Task("t9_4", "slow", "slow", "медленная", 10)
SLOW = {"started": threading.Event(), "go": threading.Event()}


@task_check(T4)
def t9_4(fn: Any) -> None:
    """A check that works a while before it calls the student (the kernel waits meanwhile)."""
    SLOW["started"].set()
    SLOW["go"].wait(120)
    assert_close(T4, "fn(1.0)", student_call(T4, "fn(1.0)", fn, 1.0), 2.0)


def test_an_interrupted_wait_for_the_checker_leaves_later_checks_working(tmp_path: Path) -> None:
    """SIGINT (the executor's timeout) while the kernel waits for a check's verdict: that cell
    ends with KeyboardInterrupt, the abandoned exchange is finished (the check's late call of
    the released function fails, its late verdict is dropped) and the next cells are checked."""
    module = types.SimpleNamespace(__all__=["t9_1", "t9_4"], HIDDEN=(), t9_1=t9_1, t9_4=t9_4)
    SLOW["started"].clear()
    SLOW["go"].clear()
    k = HarnessKernel("channel_demo", tmp_path, module=module)
    try:
        k.run("import numpy as np\nimport course.checks.channel_demo as check")
        k.index += 1
        k.checker.begin_cell(k.index, "t9_4", ("t9_4",))
        k.proc.stdin.write(json.dumps({"i": k.index, "src": "check.t9_4(lambda x: 2 * x)"}) + "\n")
        k.proc.stdin.flush()
        assert SLOW["started"].wait(120), "the slow check never started"
        os.kill(k.proc.pid, signal.SIGINT)
        reply = json.loads(k.proc.stdout.readline())
        assert reply["err"].startswith("KeyboardInterrupt"), reply
        v = k.checker.end_cell(k.index)
        assert not v.passed and not v.kernel_lost, v
        SLOW["go"].set()  # the check goes on: it calls the student's released function
        for _ in range(2):
            v, reply = _run_bounded(
                k, "def fn(f, x):\n    return f(x) + f(2 * x)\ncheck.t9_1(fn)", "t9_1"
            )
            assert reply is not None and reply["err"] is None, reply
            assert v.passed and v.ran == ("t9_1",) and not v.messages, v
        assert k.checker.checks_run == 3 and not k.checker.kernel_lost
    finally:
        SLOW["go"].set()
        k.close()


def test_a_forged_reply_declaring_2gib_is_refused_before_decoding(kernel: HarnessKernel) -> None:
    """A reply written by hand in the binary format (tests/grading/channel_forgery.py): one 8 MiB
    buffer referenced by 256 arrays (2 GiB once decoded, since every array is copied). The
    checker's bound reads the sizes from the declarations and refuses it; nothing is allocated,
    the next check runs as usual."""
    import resource

    src = FORGE + "def fn(f, x):\n    _forge_reply()\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kernel.run(src)
    v, _ = _run_bounded(kernel, "check.t9_1(fn)", "t9_1")
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
    assert not v.passed and not v.kernel_lost, v
    assert f"result too large: {2**31} bytes" in " ".join(v.messages), v.messages
    assert grown < 256 * 1024, grown  # the 8 MiB frame, never 2 GiB of copies
    v, _ = _run_bounded(kernel, "def g(f, x):\n    return f(x) + f(2 * x)\ncheck.t9_1(g)", "t9_1")
    assert v.passed, v.messages


def test_cost_per_call(kernel: HarnessKernel, capsys: Any) -> None:
    """The channel's cost: one round trip per call of a handed-over function (printed)."""
    n = 300
    src = f"""
import time
def fn(f, x):
    t = time.perf_counter()
    for _ in range({n}):
        f(x)
    fn.per_call = (time.perf_counter() - t) / {n}
    return f(x) + f(2 * x)
"""
    kernel.run(src)
    t0 = time.perf_counter()
    v, _ = kernel.run("check.t9_1(fn)\nprint(f'{fn.per_call * 1e6:.0f}')", "t9_1", ("t9_1",))
    assert not v.passed and "called 302 times" in v.messages[0]
    _, reply = kernel.run("print(f'{fn.per_call * 1e6:.0f}')")
    with capsys.disabled():
        print(
            f"\nchannel: {float(reply['out']):.0f} us per call of a handed-over function "
            f"(array of 3 floats, round trip); one check {time.perf_counter() - t0:.3f} s"
        )
