"""nbgrader's ``Execute`` for untrusted notebooks: :class:`SandboxExecute`.

Per-cell timeout, then a kernel that ignores the interrupt is killed; a dead kernel
(``os._exit``, a segfault, the memory limit) ends the run and every test cell not run gets an
error; outputs are capped per cell; student code cannot clear a test cell's output; after every
cell the checks' verdicts come from the grader's checker (:mod:`course.channel`) and alone
decide the grade cells (:mod:`.verdicts`); the static scan's findings become error outputs on
the test cells they affect (so nbgrader's own ``SaveAutoGrades`` scores them 0) and a notes
cell at the top of the graded notebook (so the feedback explains everything).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, List, Unicode

from . import integrity
from .bwrap import sandbox_status
from .cellwatch import CpuWatch, limit_ru, limit_text, load_per_core, timeout_error, wall_error
from .confine import TAG
from .findings import where_of as _where
from .integrity import Finding
from .kernels import Box, SandboxKernelManager, _death_reason
from .verdicts import (
    KIND_RU,
    NOTES_TITLE,
    Verdicts,
    _error,
    _expected,
    _is_grade,
    _is_locked,
    _set_findings,
    _task_of,
    findings_of,
    set_findings,
)
from .view import channel_ready, kernel_view

__all__ = ["KIND_RU", "NOTES_TITLE", "SandboxExecute", "findings_of", "set_findings"]


class SandboxExecute(Verdicts, Execute):
    """nbgrader's ``Execute`` for untrusted notebooks (see the module docstring)."""

    memory_mb = Integer(4096, help="address-space limit of the kernel, MiB").tag(config=True)
    max_cells = Integer(1000, help="a notebook with more cells is not run").tag(config=True)
    output_chars = Integer(20_000, help="characters of output kept per cell").tag(config=True)
    grace = Float(5.0, help="seconds an interrupted kernel has to respond").tag(config=True)
    landlock = Bool(True, help="confine the kernel with Landlock").tag(config=True)
    scratch_root = Unicode("", help="where the per-submission scratch folders go").tag(config=True)
    notes_dir = Unicode("", help="the grader's notes about submissions (JSON)").tag(config=True)
    unreadable = List(Unicode(), help="folders the audit hook refuses to read").tag(config=True)
    keep_scratch = Bool(False).tag(config=True)
    unsafe_no_sandbox = Bool(False, help="grade without bubblewrap (trusted work only)").tag(
        config=True
    )
    scratch_mb = Integer(256, help="size of the kernel's writable scratch (tmpfs), MiB").tag(
        config=True
    )
    #: nbclient's per-cell ``timeout`` trait, seconds (an annotation only, for mypy: nbgrader's
    #: ``Execute`` has no type information)
    timeout: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    # --- output handling ------------------------------------------------------------------------
    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        content = msg.get("content", {})
        if msg.get("msg_type") == "error":
            content["evalue"] = str(content.get("evalue", ""))[:4000]
            content["traceback"] = [str(t)[:4000] for t in content.get("traceback", [])][-60:]
            return super().output(outs, msg, display_id, cell_index)
        data = content.get("data")
        size = (
            sum(len(str(v)) for v in data.values())
            if isinstance(data, dict)
            else len(str(content.get("text", "")))
        )
        used = self._chars.get(cell_index, 0)
        self._chars[cell_index] = used + size
        if used + size <= self.output_chars:
            return super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._truncated:
            self._truncated.add(cell_index)
            outs.append(
                new_output(
                    "stream",
                    name="stdout",
                    text=(
                        f"\n… {TAG} output truncated: more than {self.output_chars} characters / вывод "
                        f"обрезан: больше {self.output_chars} символов\n"
                    ),
                )
            )
        return None

    def clear_output(self, outs: list, msg: dict, cell_index: int) -> None:
        if _is_grade(self.nb.cells[cell_index]):
            return  # student code must not erase a test cell's error
        super().clear_output(outs, msg, cell_index)

    # --- the run ---------------------------------------------------------------------------------
    def _box(self, resources: dict, package: str | None) -> tuple[Box, list[Finding]]:
        """The kernel's box: its read-only view for ``package`` and the submission's files,
        copied as regular files (a symlink, device, fifo or socket is refused with a note)."""
        sealed, why = sandbox_status()
        if not sealed and not self.unsafe_no_sandbox:
            raise RuntimeError(
                f"cannot seal the kernel ({why}); refusing to run untrusted code "
                f"(course autograde --unsafe-no-sandbox grades it unconfined)"
            )
        base = Path(self.scratch_root) if 0 < len(self.scratch_root) < 64 else None
        if base is not None:  # a Unix socket's path has at most 107 bytes
            base.mkdir(parents=True, exist_ok=True)
        box = Box(
            kernel_view(package),
            sealed=sealed,
            scratch_mb=self.scratch_mb,
            root=Path(tempfile.mkdtemp(prefix="course-k-", dir=base)),
        )
        notes: list[Finding] = []
        src = Path(resources.get("metadata", {}).get("path") or ".")
        for folder, dirs, files in os.walk(src) if src.is_dir() else ():
            rel = Path(folder).relative_to(src)
            for name in sorted(files + [d for d in dirs if os.path.islink(Path(folder, d))]):
                path = Path(folder, name)
                if name.endswith(".ipynb") and rel == Path("."):
                    continue
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    regular = os.fstat(fd).st_mode & 0o170000 == 0o100000
                except OSError:
                    fd, regular = -1, False
                if not regular:
                    if fd >= 0:
                        os.close(fd)
                    notes.append(
                        Finding(
                            "submission",
                            "flag",
                            (
                                f"{str(rel / name)!r} was not copied into the sandbox: not a regular "
                                f"file (a symbolic link, device or fifo) / {str(rel / name)!r} не "
                                f"скопирован: не обычный файл (ссылка, устройство или канал)"
                            ),
                        )
                    )
                    continue
                (box.inbox / rel).mkdir(parents=True, exist_ok=True)
                with os.fdopen(fd, "rb") as fin, open(box.inbox / rel / name, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
        return box, notes

    def _preflight_notes(self, resources: dict) -> list[Finding]:
        info = resources["nbgrader"]
        path = Path(self.notes_dir) / info["student"] / f"{info['assignment']}.json"
        if not self.notes_dir or not path.is_file():
            return []
        return [Finding.from_dict(d) for d in json.loads(path.read_text())]

    def preprocess(
        self, nb: NotebookNode, resources: Any = None, km: Any = None
    ) -> tuple[NotebookNode, Any]:
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._chars: dict[int, int] = {}
        self._truncated: set[int] = set()
        findings = self._preflight_notes(resources) + findings_of(nb)
        if 0 < self.max_cells < len(nb.cells):
            return self._refuse_long(nb, findings), self.resources
        static = integrity.scan_notebook(nb)
        findings += static
        code_cells = sum(c.cell_type == "code" for c in nb.cells)
        preload = sorted(
            {
                m
                for c in nb.cells
                if _is_locked(c) and c.cell_type == "code"
                for m in re.findall(r"^\s*import\s+(course\.checks\.\w+)", c.source, re.M)
            }
        )
        package = preload[0].rsplit(".", 1)[1] if preload else None
        if package and not channel_ready(package):  # its checks would run in the kernel: no verdict
            raise RuntimeError(
                f"{package}'s checks are not graded over the channel (docs/GRADING_CHANNEL.md)"
            )
        box, notes = self._box(resources, package)
        findings += notes
        self._box_ = box
        resources.setdefault("metadata", {})["path"] = str(box.root)
        channel = None
        if package:
            from course.channel.checker import Checker

            box.channel_dir = box.root / "channel"
            box.channel_dir.mkdir()
            channel = Checker(package=package, socket_path=box.channel_dir / "c.sock")
            channel.start()
            box.env["COURSE_CHANNEL"] = (
                "/run/course/channel/c.sock" if box.sealed else str(box.channel_dir / "c.sock")
            )
        self._channel = channel
        self.km = self.create_kernel_manager()
        self.km.box = box
        self.km.pre_start_kernel_box()
        self.km.sandbox_args = [
            "--memory",
            str(self.memory_mb),
            "--cpu",
            str(int(self.timeout * (code_cells + 4))),
            *([] if self.landlock else ["--no-landlock"]),
        ]
        cpu_limit = int(self.timeout)
        self.error_on_timeout = timeout_error(cpu_limit)
        # the backstop (sleeping cells, a stuck kernel), × the load per core: see
        # cellwatch.CpuWatch; for the cells nbclient's own timeout is a far safety net behind it
        wall = max(5 * cpu_limit, cpu_limit + 60)
        self.timeout = int(wall * load_per_core())  # kernel_info
        dead: str | None = None
        kernel_cpu = 0.0
        watch_cells: dict[int, tuple[float, float]] = {}
        verdicts: dict[int, Any] = {}
        stack = contextlib.ExitStack()
        try:
            logs = Path(self.scratch_root or tempfile.gettempdir()).parent / "logs"
            logs.mkdir(exist_ok=True)
            info = resources["nbgrader"]
            log = open(logs / f"kernel-{info['student']}-{info['assignment']}.log", "wb")
            stack.callback(log.close)
            with self.setup_kernel(cwd=str(box.root), stdout=subprocess.DEVNULL, stderr=log):
                watch = CpuWatch(self.km, cpu_limit, self.grace, wall)
                watch.start()
                watch_cells = watch.cells
                stack.callback(watch.stop)
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                if info_msg:
                    self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                self.timeout = 20 * wall
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    if dead is not None:
                        if _is_grade(cell):
                            cell.outputs = [
                                _error("NotRun", f"{TAG} not run / не запущена: {dead}")
                            ]
                        continue
                    if channel is not None:
                        graded = _is_grade(cell)
                        channel.begin_cell(
                            index,
                            _task_of(cell) if graded else None,
                            _expected(cell) if graded else (),
                        )
                    watch.begin(index)
                    try:
                        self.execute_cell(cell, index, store_history=True)
                    except (DeadKernelError, CellTimeoutError) as exc:
                        if isinstance(exc, CellTimeoutError) or watch.killed == index:
                            self.km.kill_now()
                            dead = (
                                f"ran longer than {limit_text(cpu_limit, wall, watch)} and "
                                f"the kernel ignored the interrupt; it was stopped / ячейка "
                                f"выполнялась дольше {limit_ru(cpu_limit, wall, watch)}, "
                                f"ядро не ответило на прерывание и было остановлено "
                                f"({_where(self.nb, index)})"
                            )
                        else:
                            dead = (
                                _death_reason(self.km.exit_status, self.memory_mb)
                                + f" ({_where(self.nb, index)})"
                            )
                        cell.outputs.append(_error("KernelDied", f"{TAG} {dead}"))
                        findings.append(Finding("crash", "info", dead, index))
                        if channel is not None:
                            verdicts[index] = channel.end_cell(index)
                        continue
                    finally:
                        watch.end()
                    if watch.fired == index:  # interrupted by the watch: say why
                        cell.outputs = [
                            o
                            for o in cell.outputs
                            if not (
                                o.output_type == "error" and o.get("ename") == "KeyboardInterrupt"
                            )
                        ]
                        error = wall_error(wall, watch) if watch.by_wall else self.error_on_timeout
                        cell.outputs.append(new_output("error", **error))
                    if channel is not None:
                        verdicts[index] = channel.end_cell(index)
                    if any(
                        o.get("ename") == "TimeoutError"
                        for o in cell.outputs
                        if o.output_type == "error"
                    ):
                        findings.append(
                            Finding(
                                "timeout",
                                "info",
                                (
                                    f"ran longer than {limit_text(cpu_limit, wall, watch)} "
                                    f"and was interrupted / выполнялась дольше "
                                    f"{limit_ru(cpu_limit, wall, watch)} и была прервана "
                                    f"({_where(self.nb, index)})"
                                ),
                                index,
                            )
                        )
                # read before the box is killed: its processes are reaped inside it, so their
                # CPU time never reaches the grader's own rusage
                kernel_cpu = self.km.cpu_seconds()
        finally:
            stack.close()
            self.timeout = cpu_limit
            if channel is not None:
                channel.close()
            if not self.keep_scratch:
                box.remove()
        findings += self._observe(nb)
        findings += self._decide_channel(nb, verdicts)
        self._apply(nb, findings)
        _set_findings(
            nb,
            findings,
            landlock=self.landlock,
            sandbox="bwrap" if box.sealed else "unsafe-no-sandbox",
            channel=channel is not None,
            kernel_cpu=round(kernel_cpu, 3),
            cells={str(i): list(v) for i, v in watch_cells.items()},  # CPU s, wall s per cell
        )
        return nb, self.resources
