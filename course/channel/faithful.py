"""Faithful calls over the channel: what the student's code does in place reaches the checker.

Arrays cross by value (:mod:`.codec`): the kernel decodes fresh copies of a call's arguments, the
checker fresh copies of its results. Two things that code does to shared memory in one process
would then stay in the kernel, and the checks' before/after comparisons would never fire:

* an argument changed in place (``x -= …``, ``x[i] = …``, ``lst.clear()``): the kernel's copy
  changes, the checker's original does not;
* a result that is (a view of) a buffer the student keeps and overwrites on a later call: the
  checker's copy, taken at reply time, never changes.

**The kernel** (:class:`Tracker`) keeps, for the check that runs, a weak reference and the bytes
of every array it decoded as an argument or sent in a reply (for a view: its owner, weakly, and
where the view lies in it), and the lists and dicts among them (held, with a shallow copy, until
the first reply at which nothing else holds them: then nothing can change them). With every
reply it sends the ones whose contents changed since (the field ``up``: ``[(id, new value),
…]``). An array that dies is forgotten: honest code, whose arguments and fresh results die once
used, costs one weak reference and one copy of their bytes each.

**Ids**: the checker numbers the arrays, lists and dicts of a request's arguments (``ai``: the
first id, negative; the next ones count down in the order :func:`walk` visits them, the order
the codec writes them: the positional arguments, then the keyword arguments); the kernel numbers
those of a reply (``ri``: one id each in that order; the same object sent again keeps its id;
0: not followed).

**The checker** (:class:`Mirror`) maps an id to its own objects (arrays weakly; lists and dicts
until the check ends) and writes an update into them in place (``np.copyto`` for an array of the
same shape, ``lst[:] = new``, ``d.clear(); d.update(new)``). It writes only into the objects it
passed as arguments during the check and into the results it received; anything else in an
update is ignored. A kernel can lie about its own mutations: that only hides its own bug. An
update written into an argument also fails the running check, whatever it concludes
(:attr:`Mirror.arguments_changed`, ``checker.ARGUMENT_CHANGED``), so a kernel cannot move the
data a check computes its expected values from.
"""

from __future__ import annotations

import os
import sys
import weakref
from typing import Any

import numpy as np

from .codec import _CODE_OF, MAX_FRAME, MAX_ITEMS

__all__ = ["Mirror", "Tracker", "enabled", "walk"]

MAX_FOLLOWED = 4096  #: arrays the kernel follows in one check (then new ones are not)
MAX_HELD = 64 * 2**20  #: bytes of their contents the kernel keeps to compare
MAX_UPDATE = 16 * 2**20  #: bytes of updates in one reply (the checker's bound per message)
_MAX_VISIT = 1000  #: values walk looks at in one field (the same on both sides)
_MAX_DEPTH = 8


def enabled() -> bool:
    """Whether faithful calls are on (``COURSE_CHANNEL_FAITHFUL=0`` turns them off: the figures
    "before" and the tests that show the checks are blind without them)."""
    return os.environ.get("COURSE_CHANNEL_FAITHFUL", "1") != "0"


def _on_wire(a: np.ndarray) -> bool:
    """Whether the codec sends ``a`` as an array (else: a handle)."""
    dt = a.dtype
    if dt in _CODE_OF:
        return True
    return dt.kind in "biufc" and dt.fields is None and dt.newbyteorder("=") in _CODE_OF


def walk(x: Any) -> list[Any]:
    """The arrays, lists and dicts in ``x`` (not ``x`` itself), in the order the
    codec writes them (tuples, lists and dicts' keys and values in order; exact types only, as
    the codec's). The same on both sides: the decoded value has the original's structure."""
    t = type(x)
    if t is np.ndarray:
        return [x] if _on_wire(x) else []
    if t is tuple or t is list:  # the usual arguments: no container inside (a fast path)
        for v in x:
            tv = type(v)
            if tv is tuple or tv is list or tv is dict:
                break
        else:
            return [v for v in x if type(v) is np.ndarray and _on_wire(v)]
    elif t is not dict:
        return []
    out: list[Any] = []
    stack: list[tuple[Any, int]] = [(x, 0)]
    seen = 0
    while stack and seen < _MAX_VISIT:
        v, depth = stack.pop()
        seen += 1
        t = type(v)
        if t is np.ndarray:
            if _on_wire(v):
                out.append(v)
        elif (t is tuple or t is list or t is dict) and depth < _MAX_DEPTH:
            if t is not tuple and depth:
                out.append(v)
            items = [kv for pair in v.items() for kv in pair] if t is dict else v
            # no more than _MAX_VISIT values are visited: the rest never would be
            stack.extend((item, depth + 1) for item in reversed(items[:_MAX_VISIT]))
    return out


class _Followed:
    """One array the kernel follows: its owner (weakly), where it lies in it, its bytes."""

    __slots__ = ("key", "owner", "saved", "view")

    def __init__(self, a: np.ndarray):
        base = a.base
        if base is None:
            self.owner, self.view = weakref.ref(a), None
            self.key: Any = id(a)
        else:
            if not isinstance(base, np.ndarray):
                raise TypeError("a view of memory that is not an array")
            offset = a.__array_interface__["data"][0] - base.__array_interface__["data"][0]
            self.owner = weakref.ref(base)
            self.view = (a.shape, a.dtype, offset, a.strides)
            self.key = (id(base), offset, a.shape, a.strides, a.dtype.str)
        self.saved = a.tobytes()

    def current(self) -> np.ndarray | None:
        owner = self.owner()
        if owner is None or self.view is None:
            return owner
        shape, dtype, offset, strides = self.view
        try:
            return np.ndarray(shape, dtype, buffer=owner, offset=offset, strides=strides)
        except (TypeError, ValueError):  # the owner was resized: nothing to follow
            return None


class Tracker:
    """The kernel's side: arguments and results followed during one check (see the module)."""

    def __init__(self) -> None:
        self.arrays: dict[int, _Followed] = {}
        self.keys: dict[Any, int] = {}  # id(array), or (id(owner), where) of a view -> id
        self.held = 0
        # lists and dicts (no weak references to them): held, with a shallow copy, until the
        # first reply at which nothing else holds them
        self.kept: dict[int, tuple[Any, Any]] = {}
        self.kept_ids: dict[int, int] = {}  # id(list or dict) -> id
        self._next = 1
        self.updates_sent = 0  # arrays, lists and dicts sent back (figures and tests)

    def clear(self) -> None:
        """Forget everything (the check ended)."""
        self.arrays.clear()
        self.keys.clear()
        self.kept.clear()
        self.kept_ids.clear()
        self.held = 0

    def arguments(self, first: Any, args: Any, kwargs: Any) -> list[Any]:
        """Follow what a request's arguments decoded to (``first``: the checker's ``ai``). The
        list returned holds the arrays until the reply (a changed one that dies is sent)."""
        held: list[Any] = []
        if type(first) is not int or first >= 0:
            return held
        for k, obj in enumerate(walk(args) + walk(kwargs) if kwargs else walk(args)):
            ident = first - k
            if type(obj) is np.ndarray:
                self._follow(ident, obj)
                held.append(obj)
            else:
                self._keep(ident, obj)
        return held

    def _keep(self, ident: int, obj: Any) -> int:
        if len(self.kept) >= MAX_FOLLOWED or len(obj) > MAX_ITEMS:
            return 0
        self.kept[ident] = (obj, list(obj) if type(obj) is list else dict(obj))
        self.kept_ids[id(obj)] = ident
        return ident

    def _follow(self, ident: int, a: np.ndarray) -> int:
        if len(self.arrays) >= MAX_FOLLOWED or self.held + a.nbytes > MAX_HELD:
            return 0
        try:
            f = _Followed(a)
        except (TypeError, ValueError):
            return 0
        self.arrays[ident] = f
        self.keys[f.key] = ident
        self.held += len(f.saved)
        return ident

    def reply(self, held: list[Any], result: Any = None) -> dict[str, Any]:
        """The fields a reply carries: ``up`` (what changed since it was followed), ``ri`` (the
        ids of ``result``'s arrays, lists and dicts). ``held``: see :meth:`arguments`."""
        up: list[tuple[int, Any]] = []
        size = 0
        for ident, f in list(self.arrays.items()):
            a = f.current()
            if a is None:
                self._forget(ident, f)
                continue
            now = a.tobytes()
            if now != f.saved:
                self.held += len(now) - len(f.saved)
                f.saved = now
                if size + len(now) <= MAX_UPDATE:
                    up.append((ident, a))
                    size += len(now)
        for ident, (obj, then) in list(self.kept.items()):
            alone = sys.getrefcount(obj) <= _ALONE  # then nothing can change it any more
            if _moved(obj, then):
                self.kept[ident] = (obj, list(obj) if type(obj) is list else dict(obj))
                if size < MAX_UPDATE:
                    up.append((ident, obj))
                    size += 64 * len(obj)
            if alone:
                del self.kept[ident]
                self.kept_ids.pop(id(obj), None)
        fields: dict[str, Any] = {}
        if up:
            fields["up"] = up
            self.updates_sent += len(up)
        if result is not None:
            ri = [self._result_id(v) for v in walk((result,))]
            if any(ri):
                fields["ri"] = ri
        return fields

    def _result_id(self, v: Any) -> int:
        if type(v) is np.ndarray:
            return self._array_id(v)
        ident = self.kept_ids.get(id(v), 0)  # the same list again: its id
        if ident and self.kept[ident][0] is v:
            return ident
        ident, self._next = self._next, self._next + 1
        return self._keep(ident, v)

    def _array_id(self, a: np.ndarray) -> int:
        if a.base is None:  # the same array again (a cache, an argument returned): its id
            ident = self.keys.get(id(a), 0)
            same = self.arrays.get(ident)
            if same is not None and same.owner() is a:
                return ident
        try:
            f = _Followed(a)
        except (TypeError, ValueError):
            return 0
        if f.view is not None:
            ident = self.keys.get(f.key, 0)
            same = self.arrays.get(ident)
            if same is not None and same.owner() is f.owner():
                return ident
        ident, self._next = self._next, self._next + 1
        if len(self.arrays) >= MAX_FOLLOWED or self.held + len(f.saved) > MAX_HELD:
            return 0
        self.arrays[ident] = f
        self.keys[f.key] = ident
        self.held += len(f.saved)
        return ident

    def _forget(self, ident: int, f: _Followed) -> None:
        del self.arrays[ident]
        if self.keys.get(f.key) == ident:
            del self.keys[f.key]
        self.held -= len(f.saved)


def _refs_when_alone() -> int:
    """``sys.getrefcount`` of a kept list that nothing else holds, in :meth:`Tracker.reply`'s
    loop (measured the same way, so it holds for this interpreter)."""
    kept: dict[int, tuple[Any, Any]] = {0: ([], [])}
    for _ident, (obj, _then) in list(kept.items()):
        return sys.getrefcount(obj)
    return 0


_ALONE = _refs_when_alone()


def _moved(obj: Any, then: Any) -> bool:
    """Whether a list or dict no longer holds the same items (by identity) as ``then``."""
    if len(obj) != len(then):
        return True
    if type(obj) is list:
        return any(a is not b for a, b in zip(obj, then, strict=True))
    return obj.keys() != then.keys() or any(obj[k] is not v for k, v in then.items())


class Mirror:
    """The checker's side: its objects that the kernel's updates may write into (see the
    module)."""

    def __init__(self) -> None:
        self.targets: dict[int, list[Any]] = {}  # id -> weak references (arrays), containers
        self._next = -1
        self.updates_applied = 0
        #: updates written into the checker's own arguments (negative ids) since the check began:
        #: the checker fails a check that passed in spite of them (see ``Checker._check``)
        self.arguments_changed = 0

    def clear(self) -> None:
        """Forget everything (the check ended)."""
        self.targets.clear()

    def arguments(self, args: Any, kwargs: Any) -> int | None:
        """Number the arrays, lists and dicts of a request's arguments: the ``ai`` to send, or
        None when there are none."""
        objs = walk(args) + walk(kwargs) if kwargs else walk(args)
        if not objs:
            return None
        first = self._next
        for k, obj in enumerate(objs):
            self.targets[first - k] = [weakref.ref(obj) if type(obj) is np.ndarray else obj]
        self._next = first - len(objs)
        return first

    def results(self, value: Any, ri: Any) -> None:
        """Remember which of ``value``'s arrays, lists and dicts came from which of the
        kernel's."""
        if type(ri) is not list:
            return
        for v, ident in zip(walk((value,)), ri, strict=False):
            if type(ident) is int and ident:
                ref = weakref.ref(v) if type(v) is np.ndarray else v
                refs = self.targets.get(ident)
                if refs is None:
                    self.targets[ident] = [ref]
                    continue
                refs[:] = [r for r in refs if not isinstance(r, weakref.ref) or r() is not None]
                if len(refs) < 64:
                    refs.append(ref)

    def apply(self, up: Any) -> None:
        """Write the kernel's updates into the objects they name (see the module)."""
        if type(up) is not list:
            return
        for item in up[:MAX_FOLLOWED]:
            if type(item) is not tuple or len(item) != 2 or type(item[0]) is not int:
                continue
            ident, new = item
            for ref in self.targets.get(ident, ()):
                target = ref() if isinstance(ref, weakref.ref) else ref
                if _write(target, new):
                    self.updates_applied += 1
                    self.arguments_changed += ident < 0


def _write(target: Any, new: Any) -> bool:
    """``target`` given ``new``'s contents in place, if they fit (same kind and shape)."""
    t = type(target)
    if t is np.ndarray and type(new) is np.ndarray and new.shape == target.shape:
        try:
            np.copyto(target, new, casting="same_kind")
        except (TypeError, ValueError):  # read-only, or another kind of number
            return False
        return True
    if t is list and type(new) is list:
        target[:] = new
        return True
    if t is dict and type(new) is dict:
        target.clear()
        target.update(new)
        return True
    return False


assert MAX_UPDATE < MAX_FRAME
