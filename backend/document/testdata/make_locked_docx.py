"""Writes testdata/locked.docx: a small DOCX protected by the password "mật khẩu", encrypted the
way Word does it (ECMA-376 agile encryption inside an OLE compound file), by msoffcrypto-tool.

The plain DOCX comes from pandoc (a few Vietnamese lines), so the fixture is a real Word-format
file locked by an independent implementation of Office encryption.

usage (from backend/document):
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install msoffcrypto-tool
    /tmp/venv/bin/python testdata/make_locked_docx.py
"""
import io
import subprocess

import msoffcrypto.format.ooxml

plain = subprocess.run(
    ["pandoc", "-f", "markdown", "-t", "docx", "-o", "-"],
    input="# Chương 1\n\nNội dung bí mật.\n".encode(),
    capture_output=True,
    check=True,
).stdout

locked = io.BytesIO()
msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(plain)).encrypt("mật khẩu", locked)
with open("testdata/locked.docx", "wb") as f:
    f.write(locked.getvalue())
print("wrote testdata/locked.docx,", len(locked.getvalue()), "bytes")
