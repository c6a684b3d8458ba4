"""The executed paper notebook as one self-contained HTML page: code hidden, tables as tables,
figures embedded, nothing fetched from the network (it opens offline, from a file or a mail).

nbconvert does the conversion (``HTMLExporter``, code cells' inputs and prompts left out; the
figures are already inline base64 in the notebook's outputs). Written here, because nbconvert
has no such step: printed Markdown tables (the notebook prints them so nbval can check their
text) become HTML tables, and the template's script tags that point at CDNs (MathJax,
require.js: the report needs neither) are dropped, so the page references no remote resource.
"""
from __future__ import annotations

import copy
import html
import re
from pathlib import Path

REMOTE_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*', re.IGNORECASE)
STYLE = """<style>
.jp-RenderedHTMLCommon table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 12px; }
.jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon td { border: 1px solid #ccc; padding: 2px 6px; }
.jp-RenderedHTMLCommon th { background: #f3f3f3; }
</style>
"""


def output_html(text: str) -> str:
    """A printed output as HTML: runs of Markdown table lines become tables, the rest stays text."""
    from nbconvert.filters import markdown2html

    parts, block, is_table = [], [], None
    for line in [*text.splitlines(), None]:
        kind = None if line is None else line.lstrip().startswith("|")
        if block and kind != is_table:
            joined = "\n".join(block)
            parts.append(markdown2html(joined) if is_table else f"<pre>{html.escape(joined)}</pre>")
            block = []
        if line is not None:
            block.append(line)
            is_table = kind
    return "\n".join(p for p in parts if p.strip() and p != "<pre></pre>")


def tables_as_html(notebook) -> object:
    """A copy of the notebook whose printed outputs holding Markdown tables are HTML outputs."""
    nb = copy.deepcopy(notebook)
    for cell in nb.cells:
        for i, out in enumerate(cell.get("outputs", [])):
            if out.get("output_type") == "stream" and out.get("name") == "stdout" and "\n|" in "\n" + out["text"]:
                cell.outputs[i] = {"output_type": "display_data", "metadata": {},
                                   "data": {"text/html": output_html(out["text"]), "text/plain": out["text"]}}
    return nb


def write_html(executed: Path, target: Path, title: str) -> Path:
    """Convert an executed notebook into a self-contained HTML page at ``target``."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = tables_as_html(nbformat.read(executed, as_version=4))
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    body = REMOTE_SCRIPT.sub("", body).replace("</head>", STYLE + "</head>", 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target
