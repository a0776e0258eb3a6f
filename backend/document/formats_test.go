package document

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The source document: Vietnamese, with chapters, a sub-heading, lists, a table, footnotes and
// smart quotes, written in pandoc Markdown.
var sampleSource = filepath.Join("..", "..", "testdata", "documents", "sample.md")

// needTool fails the test with an install hint when a converter is missing: these tests are the
// proof that every importer reads what real tools write, so they must not be skipped quietly.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run `tools/setup.sh test` or `apt-get install %s`", name, pkg)
	}
	return p
}

func run(t testing.TB, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// convertSample writes the sample in every format, made by pandoc and LibreOffice, and returns
// the paths by a short name.
func convertSample(t testing.TB) map[string]string {
	t.Helper()
	pandoc := needTool(t, "pandoc", "pandoc")
	soffice := needTool(t, "soffice", "libreoffice-writer")
	dir := t.TempDir()
	src, err := filepath.Abs(sampleSource)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"md (source)": src}
	for _, c := range []struct{ name, file, to string }{
		{"docx", "sample.docx", "docx"},
		{"odt", "sample.odt", "odt"},
		{"epub3", "sample.epub", "epub3"},
		{"epub2", "sample-v2.epub", "epub2"},
		{"html", "sample.html", "html5"},
		// Pandoc's own Markdown, with pipe tables (the importer reads the pipe tables GitHub and
		// pandoc share, not pandoc's simple and grid tables) and typographic characters written
		// as they are (-smart), since goldmark's quote rules differ from pandoc's after
		// non-ASCII letters.
		{"md (pandoc)", "pandoc.md", "markdown-smart-simple_tables-multiline_tables-grid_tables"},
	} {
		run(t, dir, pandoc, src, "--standalone", "-t", c.to, "-o", c.file)
		files[c.name] = filepath.Join(dir, c.file)
	}
	// LibreOffice makes the PDFs, from both the DOCX and the ODT, with a private profile so that
	// it neither touches nor waits for the user's.
	pdfDir := filepath.Join(dir, "pdf")
	run(t, dir, "cp", "sample.docx", "from-docx.docx")
	run(t, dir, "cp", "sample.odt", "from-odt.odt")
	run(t, dir, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "lo-profile"), "--headless",
		"--convert-to", "pdf", "--outdir", pdfDir, "from-docx.docx", "from-odt.odt")
	files["pdf (from docx)"] = filepath.Join(pdfDir, "from-docx.pdf")
	files["pdf (from odt)"] = filepath.Join(pdfDir, "from-odt.pdf")
	// LibreOffice's own DOCX and ODT (other styles, numbering and note markup than pandoc's).
	loDir := filepath.Join(dir, "lo")
	for _, c := range []struct{ from, to string }{{"from-odt.odt", "docx"}, {"from-docx.docx", "odt"}} {
		run(t, dir, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "lo-profile"), "--headless",
			"--convert-to", c.to, "--outdir", loDir, c.from)
		files[c.to+" (LibreOffice)"] = filepath.Join(loDir, strings.TrimSuffix(c.from, filepath.Ext(c.from))+"."+c.to)
	}
	return files
}

func TestEveryFormatOfTheSampleImportsToTheSameChaptersAndText(t *testing.T) {
	files := convertSample(t)
	want, err := Import(t.Context(), files["md (source)"], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Chapters) != 3 || want.Title != "Chuyện làng ven sông" || want.Author != "Trần Thị Mai" {
		t.Fatalf("the source reads wrong: title %q, author %q, %d chapters", want.Title, want.Author, len(want.Chapters))
	}
	for name, path := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // also proves that imports of every format may run at once
			got, err := Import(t.Context(), path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != want.Title || got.Author != want.Author {
				t.Errorf("title %q by %q, want %q by %q", got.Title, got.Author, want.Title, want.Author)
			}
			if len(got.Chapters) != len(want.Chapters) {
				t.Fatalf("%d chapters %q, want %d %q", len(got.Chapters), chapterTitles(got), len(want.Chapters), chapterTitles(want))
			}
			pdf := got.Format == FormatPDF
			for i, wc := range want.Chapters {
				gc := got.Chapters[i]
				if gc.Title != wc.Title {
					t.Errorf("chapter %d is titled %q, want %q", i+1, gc.Title, wc.Title)
				}
				if pdf {
					// A PDF has no lists or tables: they come out as paragraphs, a table as one
					// paragraph per row, so the comparison is of the text, with white space
					// normalized, plus the headings and footnotes, which the importer finds
					// (bookmarks; notes at the page bottom, moved after their paragraph).
					if g, w := flatBlocks(gc.Blocks), flatBlocks(wc.Blocks); g != w {
						t.Errorf("chapter %d text differs:\n got %s\nwant %s", i+1, g, w)
					}
					// Headings inside chapters come from the PDF's bookmarks.
					if g, w := blockList(only(gc.Blocks, Heading, Footnote)), blockList(only(wc.Blocks, Heading, Footnote)); g != w {
						t.Errorf("chapter %d headings and footnotes differ:\n got:\n%s\nwant:\n%s", i+1, g, w)
					}
					continue
				}
				if g, w := blockList(gc.Blocks), blockList(wc.Blocks); g != w {
					t.Errorf("chapter %d blocks differ:\n got:\n%s\nwant:\n%s", i+1, g, w)
				}
			}
		})
	}
}

func chapterTitles(d *Document) []string {
	var out []string
	for _, c := range d.Chapters {
		out = append(out, c.Title)
	}
	return out
}

func only(bs []Block, kinds ...BlockKind) []Block {
	var out []Block
	for _, b := range bs {
		for _, k := range kinds {
			if b.Kind == k {
				out = append(out, b)
			}
		}
	}
	return out
}

func flatBlocks(bs []Block) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, b.Text)
	}
	return flat(strings.Join(parts, " "))
}

// blockList prints blocks for comparison. Note labels are left out: they are what each format
// shows, and pandoc's EPUB numbers notes per chapter.
func blockList(bs []Block) string {
	var sb strings.Builder
	for _, b := range bs {
		fmt.Fprintf(&sb, "  %s", b.Kind)
		if b.Level > 0 {
			fmt.Fprintf(&sb, " level %d", b.Level)
		}
		if b.Cell != nil {
			fmt.Fprintf(&sb, " table %d row %d col %d", b.Cell.Table, b.Cell.Row, b.Cell.Col)
		}
		fmt.Fprintf(&sb, ": %s\n", b.Text)
	}
	return sb.String()
}
