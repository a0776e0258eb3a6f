#!/usr/bin/env bash
# Writes sample.md in every format the importers read, with the same tools and options as the
# test TestEveryFormatOfTheSampleImportsToTheSameChaptersAndText (backend/document), so the files
# can be opened in the app or with `viettts-studio inspect`. The test makes its own copies at
# test time; nothing this script writes is committed.
#
# usage: testdata/documents/convert.sh [OUTDIR]   (default: /tmp/viettts-sample)
# needs: pandoc, soffice (LibreOffice Writer), qpdf (for the encrypted PDF)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/viettts-sample}
mkdir -p "$out"
src="$here/sample.md"
pandoc "$src" --standalone -t docx -o "$out/sample.docx"
pandoc "$src" --standalone -t odt -o "$out/sample.odt"
pandoc "$src" --standalone -t epub3 -o "$out/sample.epub"
pandoc "$src" --standalone -t epub2 -o "$out/sample-v2.epub"
pandoc "$src" --standalone -t html5 -o "$out/sample.html"
pandoc "$src" --standalone -t markdown-smart-simple_tables-multiline_tables-grid_tables -o "$out/pandoc.md"
cp "$out/sample.docx" "$out/from-docx.docx"
cp "$out/sample.odt" "$out/from-odt.odt"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
(cd "$out" && soffice "-env:UserInstallation=file://$profile" --headless --convert-to pdf from-docx.docx from-odt.odt >/dev/null)
qpdf --encrypt "mật-khẩu" owner 256 -- "$out/from-docx.pdf" "$out/locked.pdf"
ls -l "$out"
