"""nbgrader's ``Execute`` for untrusted notebooks: :class:`SandboxExecute`.

Per-cell timeout, then a kernel that ignores the interrupt is killed; a dead kernel
(``os._exit``, a segfault, the memory limit) ends the run and every test cell not run gets an
error; outputs are capped per cell; student code cannot clear a test cell's output; after every
cell the integrity monitor is asked what changed (:meth:`SandboxExecute._probe`); the static
scan and the monitor's findings become error outputs on the test cells they affect (so
nbgrader's own ``SaveAutoGrades`` scores them 0) and a notes cell at the top of the graded
notebook (so the feedback explains everything).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, List, Unicode

from . import integrity
from .confine import TAG
from .findings import where_of as _where
from .integrity import Finding
from .kernels import SandboxKernelManager, _death_reason, _zygote_alive

_GUARD_TAG = "[course-guard]"  # course.checks._guard.TAG (not imported: no checks here)
_NO_ANSWER = "the integrity probe got no answer / проверка целостности не получила ответа"

__all__ = ["NOTES_TITLE", "SandboxExecute", "findings_of", "set_findings"]

NOTES_TITLE = "Замечания проверяющей системы / Grader's notes"


def findings_of(nb: Any) -> list[Finding]:
    """The findings a graded notebook carries (``metadata.course.findings``)."""
    raw = (nb.metadata.get("course") or {}).get("findings") or []
    return [Finding.from_dict(f) for f in raw if isinstance(f, dict)]


def _set_findings(nb: Any, findings: list[Finding], **extra: Any) -> None:
    nb.metadata["course"] = {"findings": [f.to_dict() for f in findings], **extra}


set_findings = _set_findings


# ---------------------------------------------------------------------------------------------
# execution
# ---------------------------------------------------------------------------------------------
def _error(ename: str, evalue: str) -> NotebookNode:
    return new_output("error", ename=ename, evalue=evalue,
                      traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def _is_grade(cell: Any) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


def _is_locked(cell: Any) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("locked") or meta.get("grade"))


#: the grader's notes in Russian: what each kind of finding means
KIND_RU = {"tamper": "проверки или библиотеки курса изменены, задача не засчитана",
           "reference": "решение использует reference_impl, jax, autograd или torch",
           "suspicious": "подозрительный код, его посмотрит преподаватель",
           "structure": "структура ноутбука восстановлена по заданию",
           "submission": "файл решения: что именно проверено",
           "crash": "ядро Python упало, дальнейшие тесты не запускались",
           "timeout": "ячейка выполнялась слишком долго и была прервана",
           "memory": "не хватило памяти", "output": "вывод ячейки обрезан",
           "exit": "вызван sys.exit()", "sandbox": "песочница запретила действие"}


def _task_of(cell: Any) -> str:
    return str(cell.metadata.get("nbgrader", {}).get("grade_id", "")).split("-")[0]


class SandboxExecute(Execute):
    """nbgrader's ``Execute`` for untrusted notebooks (see the module docstring)."""

    memory_mb = Integer(4096, help="address-space limit of the kernel, MiB").tag(config=True)
    output_chars = Integer(20_000, help="characters of output kept per cell").tag(config=True)
    grace = Float(5.0, help="seconds an interrupted kernel has to respond").tag(config=True)
    landlock = Bool(True, help="confine the kernel with Landlock").tag(config=True)
    scratch_root = Unicode("", help="where the per-submission scratch folders go").tag(
        config=True)
    notes_dir = Unicode("", help="the grader's notes about submissions (JSON)").tag(config=True)
    unreadable = List(Unicode(), help="folders the audit hook refuses to read").tag(config=True)
    keep_scratch = Bool(False).tag(config=True)

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
        size = sum(len(str(v)) for v in data.values()) if isinstance(data, dict) else len(
            str(content.get("text", "")))
        used = self._chars.get(cell_index, 0)
        self._chars[cell_index] = used + size
        if used + size <= self.output_chars:
            return super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._truncated:
            self._truncated.add(cell_index)
            outs.append(new_output("stream", name="stdout", text=(
                f"\n… {TAG} output truncated: more than {self.output_chars} characters / вывод "
                f"обрезан: больше {self.output_chars} символов\n")))
        return None

    def clear_output(self, outs: list, msg: dict, cell_index: int) -> None:
        if _is_grade(self.nb.cells[cell_index]):
            return  # student code must not erase a test cell's error
        super().clear_output(outs, msg, cell_index)

    # --- the integrity probe ---------------------------------------------------------------------
    def _probe(self, kind: str, names: tuple[str, ...] = ()) -> list[str]:
        """Ask the monitor what changed; the checks' verdicts since the last probe go to
        ``self._verdicts`` (None when the answer could not be trusted)."""
        nonce = secrets.token_hex(16)
        expr = (f"__import__('sys').modules['course.pipeline.sandbox'].probe({kind!r}, {nonce!r}, "
                f"{tuple(names)!r})")
        saved = self.timeout
        self.timeout = max(int(self.grace), 2)
        try:
            msg_id = self.kc.execute("", silent=True, store_history=False,
                                     user_expressions={"probe": expr})
            reply = self.wait_for_reply(msg_id)
        except DeadKernelError:
            return []  # the next cell reports the death
        finally:
            self.timeout = saved
        self._verdicts = None
        if reply is None:
            return [_NO_ANSWER]
        result = reply["content"].get("user_expressions", {}).get("probe", {})
        try:
            data = json.loads(ast.literal_eval(result["data"]["text/plain"]))
            payload = json.dumps([data["changes"], data["verdicts"]])
            mac = hmac.new(self._key, (nonce + payload).encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(mac, data["mac"]):
                return ["the integrity probe's answer was forged / ответ монитора подделан"]
            self._verdicts = [tuple(v) for v in data["verdicts"]]
            return list(data["changes"])
        except Exception:
            return [f"the integrity probe was blocked ({result.get('ename', 'no answer')}: "
                    f"{str(result.get('evalue', ''))[:200]}) / проверка целостности заблокирована"]

    # --- the run ---------------------------------------------------------------------------------
    def _scratch(self, resources: dict) -> Path:
        info = resources["nbgrader"]
        root = Path(self.scratch_root or tempfile.gettempdir()) / info["student"] / \
            info["assignment"]
        if root.exists():
            shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        src = Path(resources.get("metadata", {}).get("path") or ".")
        for f in src.iterdir() if src.is_dir() else []:
            if f.is_file() and f.suffix != ".ipynb":
                shutil.copy(f, root / f.name)
        return root

    def _preflight_notes(self, resources: dict) -> list[Finding]:
        info = resources["nbgrader"]
        path = Path(self.notes_dir) / info["student"] / f"{info['assignment']}.json"
        if not self.notes_dir or not path.is_file():
            return []
        return [Finding.from_dict(d) for d in json.loads(path.read_text())]

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None
                   ) -> tuple[NotebookNode, Any]:
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._chars: dict[int, int] = {}
        self._truncated: set[int] = set()
        findings = self._preflight_notes(resources) + findings_of(nb)
        static = integrity.scan_notebook(nb)
        findings += static
        scratch = self._scratch(resources)
        resources.setdefault("metadata", {})["path"] = str(scratch)
        self._key = secrets.token_bytes(32)
        keyfile = Path(tempfile.mkstemp(prefix="key-", dir=scratch.parent)[1])
        keyfile.write_bytes(self._key)
        code_cells = sum(c.cell_type == "code" for c in nb.cells)
        preload = sorted({m for c in nb.cells if _is_locked(c) and c.cell_type == "code"
                          for m in re.findall(r"^\s*import\s+(course\.checks\.\w+)", c.source,
                                              re.M)})
        self.km = self.create_kernel_manager()
        zygote = os.environ.get("COURSE_ZYGOTE", "")
        self.km.zygote = zygote if zygote and _zygote_alive(zygote) else ""
        self.km.sandbox_args = [
            "--memory", str(self.memory_mb), "--cpu", str(int(self.timeout * (code_cells + 4))),
            "--key-file", str(keyfile), "--preload", *preload,
            "--unreadable", *self.unreadable, *([] if self.landlock else ["--no-landlock"])]
        self.error_on_timeout = {
            "ename": "TimeoutError",
            "evalue": f"{TAG} the cell ran longer than {self.timeout} s and was interrupted "
                      f"(an infinite loop?) / ячейка выполнялась дольше {self.timeout} с и "
                      f"была прервана (бесконечный цикл?)",
            "traceback": [f"TimeoutError: {TAG} the cell ran longer than {self.timeout} s / "
                          f"ячейка выполнялась дольше {self.timeout} с"]}
        dead: str | None = None
        tampered: int | None = None
        verdicts: dict[int, list[tuple[str, str, bool]] | None] = {}
        stack = contextlib.ExitStack()
        try:
            logs = Path(self.scratch_root or tempfile.gettempdir()).parent / "logs"
            logs.mkdir(exist_ok=True)
            log = open(logs / f"kernel-{scratch.parent.name}-{scratch.name}.log", "wb")
            stack.callback(log.close)
            with self.setup_kernel(cwd=str(scratch), stdout=subprocess.DEVNULL, stderr=log):
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                if info_msg:
                    self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                baseline = self._probe("baseline")
                if baseline:
                    findings.append(Finding("tamper", "zero", "; ".join(baseline), 0))
                    tampered = 0
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    if dead is not None:
                        if _is_grade(cell):
                            cell.outputs = [_error("NotRun", f"{TAG} not run / не запущена: "
                                                             f"{dead}")]
                        continue
                    try:
                        self.execute_cell(cell, index, store_history=True)
                    except (DeadKernelError, CellTimeoutError) as exc:
                        if isinstance(exc, CellTimeoutError):
                            self.km.kill_now()
                            dead = (f"ran longer than {self.timeout} s and the kernel ignored "
                                    f"the interrupt; it was stopped / ячейка выполнялась дольше "
                                    f"{self.timeout} с, ядро не ответило на прерывание и было "
                                    f"остановлено ({_where(self.nb, index)})")
                        else:
                            dead = (_death_reason(self.km.exit_status, self.memory_mb)
                                    + f" ({_where(self.nb, index)})")
                        cell.outputs.append(_error("KernelDied", f"{TAG} {dead}"))
                        findings.append(Finding("crash", "info", dead, index))
                        continue
                    if any(o.get("ename") == "TimeoutError" for o in cell.outputs
                           if o.output_type == "error"):
                        findings.append(Finding("timeout", "info", (
                            f"ran longer than {self.timeout} s and was interrupted / "
                            f"выполнялась дольше {self.timeout} с и была прервана "
                            f"({_where(self.nb, index)})"), index))
                        if self._probe("check") == [_NO_ANSWER]:
                            self.km.kill_now()
                            dead = (f"the kernel ignored the interrupt after a timeout and "
                                    f"was stopped / ядро не ответило на прерывание после "
                                    f"тайм-аута и было остановлено ({_where(self.nb, index)})")
                            findings.append(Finding("crash", "info", dead, index))
                            continue
                    names = tuple(integrity.locked_module_names(cell.source)) \
                        if _is_locked(cell) else ()
                    changes = self._probe("locked" if _is_locked(cell) else "check", names)
                    if _is_grade(cell):
                        verdicts[index] = self._verdicts
                    if changes and tampered is None:
                        tampered = index
                        n = len(changes) - 3
                        more = f" and {n} more / и ещё {n}" if n > 0 else ""
                        findings.append(Finding("tamper", "zero", "; ".join(changes[:3]) + more
                                                + f" (from {_where(self.nb, index)} on / "
                                                  f"начиная с этой ячейки)", index))
        finally:
            stack.close()
            with contextlib.suppress(OSError):
                keyfile.unlink()
            if not self.keep_scratch:
                shutil.rmtree(scratch, ignore_errors=True)
        findings += self._observe(nb)
        findings += self._decide(nb, verdicts)
        self._apply(nb, findings)
        _set_findings(nb, findings, landlock=self.landlock)
        return nb, self.resources

    # --- verdicts ---------------------------------------------------------------------------------
    def _observe(self, nb: NotebookNode) -> list[Finding]:
        """What the outputs show: the sandbox's refusals, memory errors, truncations."""
        out = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            texts = [str(o.get("text", "")) + str(o.get("evalue", ""))
                     for o in cell.get("outputs", [])]
            refused = sorted({line.split(TAG, 1)[1].strip()[:400] for t in texts
                              for line in t.splitlines() if TAG in line and "not allowed" in line})
            refused += sorted({f"the system refused access to {m} / система отказала в "
                               f"доступе к {m}" for t in texts
                               for m in re.findall(r"\[Errno 13\] Permission denied: ('[^']*')",
                                                   t)})
            for m in refused[:3]:
                out.append(Finding("sandbox", "flag", f"refused: {m} ({_where(nb, i)})", i))
            if any(o.get("ename") == "SystemExit" for o in cell.get("outputs", [])):
                out.append(Finding("exit", "info", (
                    f"sys.exit() was called ({_where(nb, i)}): the kernel keeps running while "
                    f"grading and the next cells were run / вызван sys.exit(): при проверке ядро "
                    f"продолжает работать, и следующие ячейки были выполнены"), i))
            if any(o.get("ename") == "MemoryError" for o in cell.get("outputs", [])) or any(
                    "MemoryError" in t for t in texts):
                out.append(Finding("memory", "info", (
                    f"out of memory, the limit is {self.memory_mb} MiB / не хватило памяти, предел "
                    f"{self.memory_mb} МиБ ({_where(nb, i)})"), i))
            if i in self._truncated:
                out.append(Finding("output", "info", (
                    f"output truncated to {self.output_chars} characters / вывод обрезан до "
                    f"{self.output_chars} символов ({_where(nb, i)})"), i))
        return out

    def _decide(self, nb: NotebookNode, verdicts: dict[int, Any]) -> list[Finding]:
        """Only the course's verdict decides a grade cell: its ``execute_result`` and
        ``display_data`` outputs are removed (nbgrader would score the first as the grade), and
        a cell earns its points only if every check its source calls recorded a pass while it
        ran and none a failure. A check that ran without an error but did not confirm its
        pass was replaced or bypassed: every task graded from then on scores 0."""
        out: list[Finding] = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not _is_grade(cell):
                continue
            cell.outputs = [o for o in cell.get("outputs", [])
                            if o.output_type not in ("execute_result", "display_data")]
            if any(o.output_type == "error" for o in cell.outputs):
                for o in cell.outputs:  # the run-time guard's verdict: flagged for the TA
                    if o.output_type == "error" and _GUARD_TAG in str(o.get("evalue", "")):
                        text = str(o.get("evalue", "")).split(_GUARD_TAG, 1)[1].strip()
                        out.append(Finding("reference", "zero", (
                            f"{text.split(', code that computes')[0]} ({_where(nb, i)})"), i,
                            _task_of(cell)))
                continue
            required = set(re.findall(r"^check\.(\w+)\(", cell.source, re.M))
            records = verdicts.get(i)
            passed = {c for c, _t, ok in records or () if ok}
            failed = {c for c, _t, ok in records or () if not ok}
            if records is None or failed or not required <= passed:
                missing = sorted(required - passed) or sorted(failed)
                why = (f"the course's checks did not confirm this task ({', '.join(missing)}: "
                       f"{'failed' if failed else 'no verdict'}; replaced or bypassed checks "
                       f"never earn points) / проверки курса не подтвердили эту задачу "
                       f"({', '.join(missing)}: {'не пройдены' if failed else 'нет вердикта'}; "
                       f"подменённые или обойдённые проверки баллов не приносят)")
                cell.outputs.append(_error("VerdictError", f"{TAG} {why}"))
                out.append(Finding("tamper", "zero", f"{why} ({_where(nb, i)})", i))
        return out

    def _apply(self, nb: NotebookNode, findings: list[Finding]) -> None:
        """Error outputs on the test cells that findings zero; the notes cell on top."""
        for f in findings:
            if f.severity != "zero":
                continue
            for i, cell in enumerate(nb.cells):
                if not _is_grade(cell):
                    continue
                if f.scope == "after" and i < (f.cell or 0):
                    continue
                if f.scope != "after" and _task_of(cell) != f.scope:
                    continue
                why = ("the solution must not use reference_impl, jax, autograd or torch / решение "
                       "не должно использовать reference_impl, jax, autograd или torch"
                       if f.kind == "reference" else
                       "the grader's checks or libraries were modified, so this test cannot be "
                       "trusted / проверки или библиотеки курса были изменены, поэтому этому "
                       "тесту нельзя доверять")
                cell.outputs.append(_error("IntegrityError", (
                    f"{TAG} this task scores 0 / задача оценена в 0: {why} ({f.message})")))
        if findings:
            lines = [f"## {NOTES_TITLE}", ""]
            for f in findings:
                ru = KIND_RU.get(f.kind, "")
                lines.append(f"* {f.message} — **{f.kind}**" + (f" / {ru}" if ru else "") + (
                    " — *flagged for the TA / передано преподавателю*"
                    if f.severity in ("zero", "flag") else ""))
            notes = new_markdown_cell("\n".join(lines))
            notes.metadata["course_notes"] = True
            nb.cells.insert(0, notes)
