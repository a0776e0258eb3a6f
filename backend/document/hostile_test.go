package document

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile files: each must fail with the right sentinel and a message, in bounded memory and
// time. Memory is the peak of the Go heap in use during the import, sampled while it runs (the
// PDF reader's WebAssembly memory is Go heap too).

const memoryBound = 500 << 20

type zipEntry struct {
	name string
	data []byte
}

const minimalDocument = `<?xml version="1.0" encoding="UTF-8"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Xin chào Việt Nam.</w:t></w:r></w:p></w:body></w:document>`

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func docxWith(t testing.TB, body string) []byte {
	return makeZip(t, zipEntry{"word/document.xml", []byte(body)})
}

// importBounded imports a file and reports the heap peak above the start and the error.
func importBounded(t *testing.T, path string, opts Options) (peak uint64, err error) {
	t.Helper()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var max uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > max {
				max = m.HeapInuse
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	_, err = Import(ctx, path, opts)
	close(stop)
	wg.Wait()
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the import did not end within its time bound")
	}
	if max > base.HeapInuse {
		peak = max - base.HeapInuse
	}
	return peak, err
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// deflate compresses data the way a zip writer would, for entries written raw.
func deflate(t *testing.T, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{' '}, 1<<20)
	for n := 0; n < size; n += len(chunk) {
		if _, err := fw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawZip writes one deflated entry with the header sizes given, true or not.
func rawZip(t *testing.T, name string, compressed []byte, declared uint64, crc uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(compressed)), UncompressedSize64: declared})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(compressed); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHostileFilesFailClearlyWithinBounds(t *testing.T) {
	const bombSize = 256 << 20
	bomb := deflate(t, bombSize)
	crc := crc32.NewIEEE()
	chunk := bytes.Repeat([]byte{' '}, 1<<20)
	for n := 0; n < bombSize; n += len(chunk) {
		crc.Write(chunk)
	}
	laughs := `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>`
	deep := strings.Repeat("<w:p>", 50000) + strings.Repeat("</w:p>", 50000)
	truncated := docxWith(t, minimalDocument+strings.Repeat("<!-- padding -->", 4000))

	cases := []struct {
		name string
		file string
		data []byte
		want error
		says string
	}{
		{"zip bomb (ratio)", "bomb.docx", rawZip(t, "word/document.xml", bomb, bombSize, crc.Sum32()), ErrUnsafe, "zip bomb"},
		{"zip bomb (lying header)", "liar.docx", rawZip(t, "word/document.xml", bomb, 1000, crc.Sum32()), ErrUnsafe, "declared"},
		{"path traversal", "slip.docx", makeZip(t, zipEntry{"word/document.xml", []byte(minimalDocument)}, zipEntry{"../../etc/evil", []byte("x")}), ErrUnsafe, "outside the archive"},
		{"absolute entry name", "abs.epub", makeZip(t, zipEntry{"/etc/passwd", []byte("x")}), ErrUnsafe, "outside the archive"},
		{"billion laughs in DOCX", "laughs.docx", docxWith(t, laughs), ErrUnsafe, "entit"},
		{"billion laughs in EPUB", "laughs.epub", makeZip(t, zipEntry{"META-INF/container.xml", []byte(laughs)}), ErrUnsafe, "entit"},
		{"deep nesting", "deep.docx", docxWith(t, `<w:document xmlns:w="w"><w:body>`+deep+`</w:body></w:document>`), ErrUnsafe, "deep"},
		{"deep HTML", "deep.html", []byte(strings.Repeat("<div>", 100000) + "chữ"), ErrUnsafe, "deep"},
		{"truncated zip", "cut.docx", truncated[:len(truncated)/2], ErrMalformed, "truncated"},
		{"binary garbage as DOCX", "garbage.docx", bytes.Repeat([]byte{0x13, 0x37, 0x00, 0xff}, 4096), ErrMalformed, "damaged"},
		{"binary garbage as PDF", "garbage.pdf", bytes.Repeat([]byte{0x13, 0x37, 0x00, 0xff}, 4096), ErrMalformed, "PDF"},
		{"binary garbage as text", "garbage.txt", bytes.Repeat([]byte{0x13, 0x37, 0x00, 0xff, 0x80, 0x01}, 4096), ErrNotText, "binary"},
		{"password-protected ODT", "locked.odt", makeZip(t,
			zipEntry{"mimetype", []byte("application/vnd.oasis.opendocument.text")},
			zipEntry{"META-INF/manifest.xml", []byte(`<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"><manifest:encryption-data manifest:checksum-type="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k"><manifest:algorithm manifest:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/></manifest:encryption-data></manifest:file-entry></manifest:manifest>`)},
			zipEntry{"content.xml", bytes.Repeat([]byte{0x8f, 0x13, 0xe2}, 300)}), ErrEncrypted, "password"},
		{"DRM-protected EPUB", "drm.epub", makeZip(t,
			zipEntry{"mimetype", []byte("application/epub+zip")},
			zipEntry{"META-INF/encryption.xml", []byte(`<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><enc:CipherData><enc:CipherReference URI="OEBPS/ch1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>`)},
			zipEntry{"OEBPS/ch1.xhtml", bytes.Repeat([]byte{0x8f, 0x13, 0xe2}, 300)}), ErrEncrypted, "DRM"},
		{"not a Word document", "other.docx", makeZip(t, zipEntry{"hello.txt", []byte("hi")}), ErrMalformed, "no word/document.xml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			peak, err := importBounded(t, writeFile(t, c.file, c.data), Options{})
			checkHostile(t, err, peak, c.want, c.says)
		})
	}
}

func checkHostile(t *testing.T, err error, peak uint64, want error, says string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	if !strings.Contains(err.Error(), says) {
		t.Errorf("message %q does not say %q", err, says)
	}
	var e *Error
	if !errors.As(err, &e) || e.Advice == "" || e.Path == "" {
		t.Errorf("error %q lacks the file name or advice", err)
	}
	if peak > memoryBound {
		t.Errorf("peak heap %s, above %s", bytesize.Format(int64(peak)), bytesize.Format(memoryBound))
	}
	t.Logf("%v (peak heap %s)", err, bytesize.Format(int64(peak)))
}

func TestA200MBTextFileIsRefusedWithoutReadingIt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.txt")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("Một câu tiếng Việt dài để làm đầy tệp văn bản lớn. ", 20) + "\n")
	for n := 0; n < 200<<20; n += len(line) {
		if _, err := f.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	peak, err := importBounded(t, p, Options{})
	checkHostile(t, err, peak, ErrTooLarge, "32.0 MiB")
}

func TestAnEncryptedPDFSaysItNeedsItsPassword(t *testing.T) {
	qpdf := needTool(t, "qpdf", "qpdf")
	dir := t.TempDir()
	plain, locked := filepath.Join(dir, "plain.pdf"), filepath.Join(dir, "locked.pdf")
	for _, args := range [][]string{
		{"--empty", plain},
		{"--encrypt", "mật-khẩu", "owner", "256", "--", plain, locked},
	} {
		if out, err := exec.CommandContext(t.Context(), qpdf, args...).CombinedOutput(); err != nil {
			t.Fatalf("qpdf %v: %v\n%s", args, err, out)
		}
	}
	peak, err := importBounded(t, locked, Options{})
	checkHostile(t, err, peak, ErrEncrypted, "password")
}

func TestAPasswordProtectedDOCXSaysSo(t *testing.T) {
	// testdata/locked.docx: Word's agile encryption, written by msoffcrypto-tool
	// (testdata/make_locked_docx.py).
	peak, err := importBounded(t, filepath.Join("testdata", "locked.docx"), Options{})
	checkHostile(t, err, peak, ErrEncrypted, "password")
}

func TestAnOldBinaryDocSaysToSaveItAsDOCX(t *testing.T) {
	soffice := needTool(t, "soffice", "libreoffice-writer")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.txt"), []byte("Văn bản cũ.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "lo-profile"), "--headless",
		"--convert-to", "doc", "old.txt")
	// Named .docx, as such files often are after a careless rename.
	if err := os.Rename(filepath.Join(dir, "old.doc"), filepath.Join(dir, "old.docx")); err != nil {
		t.Fatal(err)
	}
	peak, err := importBounded(t, filepath.Join(dir, "old.docx"), Options{})
	checkHostile(t, err, peak, ErrUnsupported, "old binary Office file")
}

func TestAPDFWithoutATextLayerAsksForOCR(t *testing.T) {
	// One page that only draws a filled rectangle, as a scan only holds an image.
	scan := []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj " +
		"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R>>endobj " +
		"4 0 obj<</Length 24>>stream\n10 10 180 180 re f\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
	peak, err := importBounded(t, writeFile(t, "scan.pdf", scan), Options{})
	checkHostile(t, err, peak, ErrEmpty, "OCR")
}
