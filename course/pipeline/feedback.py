"""The feedback HTML: nbconvert's exporter as nbgrader's ``GenerateFeedback`` uses it, cheaper."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["feedback_exporter"]


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
_FOCUSABLE = re.compile(
    r'(<div class="[^"]*\bjp-(?:Cell-inputWrapper|OutputArea-output)\b[^"]*")')


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
                highlight = self.filters.get("highlight_code",
                                             Highlight2HTML(pygments_lexer=lexer, parent=self))
                resources = self._init_resources(resources)
                data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                  parent=self, resources=resources)
            except (ImportError, AttributeError, TypeError):
                return super().from_notebook_node(nb, resources, **kw)
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html = _IMG_NO_ALT.sub(
                '<img alt="No description has been provided for this image"', html)
            return _FOCUSABLE.sub(r'\1 tabindex="0"', html), resources

    return FeedbackExporter
