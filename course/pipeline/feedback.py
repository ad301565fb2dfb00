"""The feedback HTML: nbconvert's exporter as nbgrader's ``GenerateFeedback`` uses it, cheaper;
hidden tests shown as one line (never their source); math as MathML, so that the page needs
no network (nbgrader's template loads MathJax from a CDN)."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "feedback_exporter",
    "feedback_preprocessor",
    "hide_hidden_tests",
    "offline_math",
    "strip_mathjax",
]


def _template_cache() -> Any:
    """Compiled Jinja templates shared by every feedback exporter of the process (nbgrader makes
    a new exporter per notebook; each would compile the templates again). Jinja keys them on
    the template's name and checks its source's checksum."""
    import jinja2

    class Cache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self.store: dict[str, bytes] = {}

        def load_bytecode(self, bucket: Any) -> None:
            data = self.store.get(bucket.key)
            if data is not None:
                bucket.bytecode_from_string(data)

        def dump_bytecode(self, bucket: Any) -> None:
            self.store[bucket.key] = bucket.bytecode_to_string()

    return Cache()


_IMG_NO_ALT = re.compile(r"<img(?![^>]*\balt=)")
_FOCUSABLE = re.compile(r'(<div class="[^"]*\bjp-(?:Cell-inputWrapper|OutputArea-output)\b[^"]*")')


def feedback_exporter() -> type:
    """nbconvert's ``HTMLExporter`` for nbgrader's feedback, cheaper per notebook and with the
    same output: the ``alt`` and ``tabindex`` attributes nbconvert adds after re-parsing the
    whole page with BeautifulSoup (≈ 0.15 s per notebook) are added by two regular expressions,
    and compiled templates are shared across notebooks. Falls back to nbconvert's own path if
    its internals change."""
    from nbconvert.exporters import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    cache = _template_cache()

    class FeedbackExporter(HTMLExporter):
        def _create_environment(self) -> Any:
            env = super()._create_environment()
            env.bytecode_cache = cache
            return env

        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            try:
                from nbconvert.filters.highlight import Highlight2HTML
                from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

                info = nb.metadata.get("language_info", {})
                lexer = info.get("pygments_lexer", info.get("name", None))
                highlight = self.filters.get(
                    "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                )
                resources = self._init_resources(resources)
                data_type = WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources
                )
            except (ImportError, AttributeError, TypeError):
                html, resources = super().from_notebook_node(nb, resources, **kw)
                return strip_mathjax(html), resources
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html = _IMG_NO_ALT.sub(
                '<img alt="No description has been provided for this image"', html
            )
            return strip_mathjax(_FOCUSABLE.sub(r'\1 tabindex="0"', html)), resources

    return FeedbackExporter


# ---------------------------------------------------------------------------------------------
# what the student sees: hidden tests as one line, math without a network
# ---------------------------------------------------------------------------------------------
_BEGIN, _END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_CELL_LINE = re.compile(r"(?:Cell In\s*\[[^\]]*\]|<ipython-input-[^>]*>)[^\n]*?line (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]+?)(?<!\\)\$")


def hide_hidden_tests(cell: Any) -> None:
    """Replace a test cell's hidden tests by one line, ``# hidden tests: passed`` or
    ``# hidden tests: failed: <reason>`` (or not run); an error raised by a hidden test keeps
    its message and loses its traceback (which would show the hidden source)."""
    lines = cell.source.split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip() == _BEGIN]
    if not starts:
        return
    begin = starts[0]
    end = next((i for i, line in enumerate(lines) if line.strip() == _END), len(lines) - 1)
    passed = status = "passed / пройдены"
    for out in cell.get("outputs", []):
        if out.get("output_type") != "error":
            continue
        trace = _ANSI.sub("", "\n".join(out.get("traceback", [])))
        hit = [int(n) for n in _CELL_LINE.findall(trace)]
        where = hit[0] - 1 if hit else None  # the test cell's own frame comes first
        reason = f"{out.get('ename', 'Error')}: {_ANSI.sub('', str(out.get('evalue', '')))}"
        if where is not None and begin < where < end:
            status = f"failed: {reason}"
            out["traceback"] = [f"hidden tests: failed: {reason}"]
        elif where is not None and where <= begin:
            status = (
                "not run (a visible test above failed) / не запускались (не прошёл "
                "видимый тест выше)"
            )
        elif where is None and status == passed:
            status = f"failed: {reason}"
    cell.source = "\n".join([*lines[:begin], f"# hidden tests: {status}", *lines[end + 1 :]])


def _to_mathml(tex: str, display: bool) -> str:
    import html

    try:
        from latex2mathml.converter import convert

        return convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # not installed, or TeX it cannot read: the source, readable
        tag = "pre" if display else "code"
        return f'<{tag} class="tex">{html.escape(tex.strip())}</{tag}>'


def offline_math(source: str) -> str:
    """``$…$`` and ``$$…$$`` as MathML (browsers render it without scripts or a network)."""
    parts = re.split(r"(```.*?```|`[^`\n]*`)", source, flags=re.S)  # code stays as it is
    for i in range(0, len(parts), 2):
        text = _DISPLAY.sub(lambda m: _to_mathml(m.group(1), True), parts[i])
        parts[i] = _INLINE.sub(lambda m: _to_mathml(m.group(1), False), text)
    return "".join(parts)


def _lang(config: Any, chosen: str) -> str:
    """The feedback's language: the ``StudentView.lang`` setting, else the work dir's
    (``course-lang``, see :mod:`course.lms.lang`), else both."""
    if chosen:
        return chosen
    from pathlib import Path

    from ..lms.lang import LANG_FILE, LANGS

    root = config.CourseDirectory.get("root") if "CourseDirectory" in config else None
    path = Path(str(root)) / LANG_FILE if root else None
    value = path.read_text().strip() if path is not None and path.is_file() else ""
    return value if value in LANGS else "both"


def _localize_outputs(cell: Any, lang: str) -> None:
    from ..lms.lang import localize

    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            out["evalue"] = localize(str(out.get("evalue", "")), lang)
            out["traceback"] = [localize(t, lang) for t in out.get("traceback", [])]
        elif out.get("output_type") == "stream":
            out["text"] = localize(out.get("text", ""), lang)


def feedback_preprocessor() -> type:
    """A ``GenerateFeedback`` preprocessor: hidden tests as one line, math as MathML; the
    grader's notes and the messages in the TA's language (``StudentView.lang``: ru, en or
    both; by default the work dir's choice, else both)."""
    from nbconvert.preprocessors import Preprocessor
    from traitlets import Unicode

    class StudentView(Preprocessor):
        lang = Unicode("", help="ru, en or both (default: the work dir's, else both)").tag(
            config=True
        )

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.enabled = True  # nbconvert registers a preprocessor class disabled

        def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
            self._chosen = _lang(self.config, self.lang)
            return super().preprocess(nb, resources)

        def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
            lang = getattr(self, "_chosen", "both")
            if cell.cell_type == "markdown":
                if lang != "both" and "Grader's notes" in cell.source.split("\n", 1)[0]:
                    from ..lms.lang import localize

                    cell.source = localize(cell.source, lang)
                cell.source = offline_math(cell.source)
            elif cell.cell_type == "code":
                hide_hidden_tests(cell)
                if lang != "both" or any(
                    o.get("output_type") == "error" for o in cell.get("outputs", [])
                ):
                    _localize_outputs(cell, lang)
                    from ..lms.lang import localize

                    cell.source = "\n".join(
                        localize(line, lang) if line.startswith("# hidden tests:") else line
                        for line in cell.source.split("\n")
                    )
            return cell, resources

    return StudentView


_WRAP = (
    "<style>pre, .output_text pre, .jp-OutputArea-output pre { white-space: pre-wrap; "
    "overflow-wrap: anywhere; }</style>"
)


def strip_mathjax(html: str) -> str:
    """The page without the MathJax loader (a CDN script): it works offline; long lines of
    messages wrap instead of running off the page."""
    html = _MATHJAX.sub("<!-- math: MathML, no script -->", html)
    return html.replace("</head>", _WRAP + "\n</head>", 1)
