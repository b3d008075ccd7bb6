"""Reading back the XLSX workbooks the exports write, without a spreadsheet library: a workbook
is a zip of XML parts, and ours keeps every string inline (xlsxwriter's constant-memory mode)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SHEET = "xl/worksheets/sheet1.xml"


def open_workbook(source: bytes | Path) -> zipfile.ZipFile:
    data = source if isinstance(source, bytes) else source.read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None  # every part reads back intact
    assert "[Content_Types].xml" in archive.namelist()
    assert "xl/workbook.xml" in archive.namelist()
    return archive


def _column_index(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference).group(0)  # type: ignore[union-attr]
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def sheet_rows(source: bytes | Path) -> list[list[str]]:
    """The first sheet's cells as text, row by row (numbers as written, empty cells as "")."""
    root = ElementTree.fromstring(open_workbook(source).read(SHEET))
    rows = []
    for row in root.iter(f"{MAIN}row"):
        values: list[str] = []
        for cell in row.iter(f"{MAIN}c"):
            index = _column_index(cell.get("r", "A"))
            values.extend([""] * (index - len(values)))
            if cell.get("t") == "inlineStr":
                text = "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))
            else:
                value = cell.find(f"{MAIN}v")
                text = value.text if value is not None and value.text else ""
            values.append(text)
        rows.append(values)
    return rows
