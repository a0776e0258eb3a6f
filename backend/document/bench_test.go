package document

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// The PDF reader is shared by the process; stop it so the test binary ends clean.
	if err := ShutdownPDF(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the PDF reader:", err)
	}
	os.Exit(code)
}

// bookMarkdown makes a Markdown book of about size bytes from the sample's chapters.
func bookMarkdown(tb testing.TB, size int) string {
	tb.Helper()
	src, err := os.ReadFile(sampleSource)
	if err != nil {
		tb.Fatal(err)
	}
	body := string(src)
	_, body, _ = strings.Cut(body[4:], "\n---\n")
	body, notes, _ := strings.Cut(body, "\n[^1]:")
	var sb strings.Builder
	sb.WriteString("---\ntitle: \"Sách dài\"\n---\n")
	for i := 1; sb.Len() < size; i++ {
		ch := strings.NewReplacer("Chương 1", fmt.Sprintf("Chương %d", 3*i-2), "Chương 2", fmt.Sprintf("Chương %d", 3*i-1),
			"Chương 3", fmt.Sprintf("Chương %d", 3*i), "[^", fmt.Sprintf("[^%d-", i)).Replace(body)
		sb.WriteString(ch)
	}
	sb.WriteString("\n[^1]:" + notes)
	return sb.String()
}

// BenchmarkImport measures each importer on the sample converted by pandoc and LibreOffice, and
// the text importers on a 1 MB book.
//
//	go test -run '^$' -bench BenchmarkImport -benchmem ./backend/document/
func BenchmarkImport(b *testing.B) {
	files := convertSample(b)
	dir := b.TempDir()
	book := bookMarkdown(b, 1<<20)
	bookMD := filepath.Join(dir, "book.md")
	bookTXT := filepath.Join(dir, "book.txt")
	if err := os.WriteFile(bookMD, []byte(book), 0o644); err != nil {
		b.Fatal(err)
	}
	doc, err := Import(b.Context(), bookMD, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(bookTXT, []byte(doc.Text()), 0o644); err != nil {
		b.Fatal(err)
	}
	files["book 1 MB md"], files["book 1 MB txt"] = bookMD, bookTXT
	for _, name := range []string{"md (source)", "html", "docx", "odt", "epub3", "pdf (from docx)", "book 1 MB md", "book 1 MB txt"} {
		path := files[name]
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.SetBytes(st.Size())
			// Once outside the timed loop: the first PDF starts the shared reader (seconds).
			if _, err := Import(b.Context(), path, Options{}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := Import(b.Context(), path, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
