package document

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"

	"io"
	"path"
	"strings"
)

// archive is a zip container (DOCX, ODT, EPUB) opened defensively: entry names are checked for
// path tricks when it opens, and every read is bounded in bytes, in total and in compression
// ratio, whatever the entry headers claim.
type archive struct {
	files map[string]*zip.File
	lim   Limits
	read  int64           // bytes unpacked so far, each entry counted once
	seen  map[string]bool // entries opened before
}

// maxEntries bounds the entry count: a real document has dozens, an EPUB a few thousand.
const maxEntries = 20000

var errNoEntry = errors.New("no such entry")

func openArchive(r io.ReaderAt, size int64, lim Limits) (*archive, error) {
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	if bytes.HasPrefix(head[:n], []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
		return nil, compoundFile(r, size)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fail(ErrMalformed, adviceMalformed, "the zip container is truncated or damaged (%v)", err)
	}
	if len(zr.File) > maxEntries {
		return nil, fail(ErrUnsafe, adviceUnsafe, "the archive has %d entries, more than the %d a document can have", len(zr.File), maxEntries)
	}
	a := &archive{files: make(map[string]*zip.File, len(zr.File)), lim: lim, seen: map[string]bool{}}
	for _, f := range zr.File {
		if !safeEntryName(f.Name) {
			return nil, fail(ErrUnsafe, adviceUnsafe, "the archive has an entry named %q, which points outside the archive", f.Name)
		}
		a.files[f.Name] = f
	}
	return a, nil
}

// compoundFile tells the two kinds of OLE compound file a .docx or .odt can turn out to be: a
// password-protected OOXML document (Office wraps the encrypted zip in a compound file with an
// "EncryptedPackage" stream) and an old binary .doc.
func compoundFile(r io.ReaderAt, size int64) error {
	buf := make([]byte, min(size, 16<<20))
	n, _ := r.ReadAt(buf, 0)
	name := []byte{}
	for _, c := range "EncryptedPackage" {
		name = append(name, byte(c), 0) // directory entry names are UTF-16LE
	}
	if bytes.Contains(buf[:n], name) {
		return fail(ErrEncrypted, "open it in Word or LibreOffice with its password and save a copy without one",
			"the document is protected by a password")
	}
	return fail(ErrUnsupported, "open it in Word or LibreOffice and save it as .docx or .odt",
		"it is an old binary Office file (.doc), not a .docx")
}

// safeEntryName rejects the names zip-slip attacks use: absolute paths, drive letters,
// backslashes and ".." segments.
func safeEntryName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, '\\') || strings.ContainsRune(name, 0) {
		return false
	}
	if len(name) >= 2 && name[1] == ':' {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}

// has reports whether the archive holds an entry.
func (a *archive) has(name string) bool { _, ok := a.files[name]; return ok }

// open reads a whole entry, within the archive's limits. A missing entry gives errNoEntry.
func (a *archive) open(name string) ([]byte, error) {
	r, err := a.stream(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := bytes.NewBuffer(make([]byte, 0, min(r.declared, 64<<20)+1))
	if _, err := io.Copy(buf, r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// stream opens an entry for reading within the archive's limits: the declared size and ratio
// are checked first, and reading past the declared size fails with ErrUnsafe (the header
// lied). Read errors are package errors. A missing entry gives errNoEntry.
func (a *archive) stream(name string) (*entryReader, error) {
	f, ok := a.files[strings.TrimPrefix(path.Clean("/"+name), "/")]
	if !ok {
		return nil, errNoEntry
	}
	declared := int64(f.UncompressedSize64)
	if declared < 0 || f.UncompressedSize64 > 1<<62 {
		return nil, fail(ErrUnsafe, adviceUnsafe, "entry %s declares an impossible size", name)
	}
	if declared > 1<<20 && f.CompressedSize64 > 0 && declared/int64(f.CompressedSize64) > a.lim.MaxRatio {
		return nil, fail(ErrUnsafe, adviceUnsafe, "entry %s unpacks %s from %s (ratio %d, limit %d): a zip bomb",
			name, bytesize.Format(declared), bytesize.Format(int64(f.CompressedSize64)), declared/int64(f.CompressedSize64), a.lim.MaxRatio)
	}
	again := a.seen[f.Name]
	a.seen[f.Name] = true
	left := a.lim.MaxUnpackedBytes - a.read
	if declared > left && !again {
		return nil, fail(ErrTooLarge, adviceTooLarge, "entry %s unpacks to %s, above what is left of the %s limit", name, bytesize.Format(declared), bytesize.Format(a.lim.MaxUnpackedBytes))
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fail(ErrMalformed, adviceMalformed, "entry %s cannot be opened (%v)", name, err)
	}
	return &entryReader{rc: rc, a: a, name: name, declared: declared, again: again}, nil
}

// entryReader reads one archive entry, counting what it unpacks against the archive's limit.
type entryReader struct {
	rc       io.ReadCloser
	a        *archive
	name     string
	declared int64
	n        int64
	again    bool // read before: already counted
}

func (r *entryReader) Read(p []byte) (int, error) {
	// Never ask for more than the declared size plus one byte: more means the header lied.
	if left := r.declared + 1 - r.n; int64(len(p)) > left {
		p = p[:left]
	}
	if len(p) == 0 {
		return 0, fail(ErrUnsafe, adviceUnsafe, "entry %s unpacks to more than its declared %s", r.name, bytesize.Format(r.declared))
	}
	n, err := r.rc.Read(p)
	r.n += int64(n)
	if !r.again {
		r.a.read += int64(n)
	}
	switch {
	case r.n > r.declared || errors.Is(err, zip.ErrFormat):
		// archive/zip itself stops past the declared size with ErrFormat (its only use there).
		return n, fail(ErrUnsafe, adviceUnsafe, "entry %s unpacks to more than its declared %s", r.name, bytesize.Format(r.declared))
	case err == io.EOF:
		return n, io.EOF
	case err != nil:
		return n, fail(ErrMalformed, adviceMalformed, "entry %s is truncated or damaged (%v)", r.name, err)
	}
	return n, nil
}

// Close releases the entry.
func (r *entryReader) Close() error { return r.rc.Close() }

// xmlReader streams an XML part with a bound on nesting depth, and refuses entity
// declarations (encoding/xml never expands them, but a document that declares them is built to
// attack some reader, and its references would fail later with a less helpful message).
type xmlReader struct {
	d     *xml.Decoder
	part  string
	depth int
	max   int
	stack []string
}

func newXMLReader(r io.Reader, part string, lim Limits) *xmlReader {
	d := xml.NewDecoder(r)
	d.Strict = true
	return &xmlReader{d: d, part: part, max: lim.MaxDepth}
}

// next returns the next token, io.EOF at the end, or a package error.
func (x *xmlReader) next() (xml.Token, error) {
	t, err := x.d.Token()
	if err == io.EOF {
		return nil, io.EOF
	}
	var pe *Error
	if errors.As(err, &pe) {
		return nil, pe // the archive's own verdict on a bad read
	}
	if err != nil {
		return nil, fail(ErrMalformed, adviceMalformed, "%s is not valid XML (%v)", x.part, err)
	}
	switch v := t.(type) {
	case xml.StartElement:
		x.depth++
		if x.depth > x.max {
			return nil, fail(ErrUnsafe, adviceUnsafe, "%s nests elements more than %d deep", x.part, x.max)
		}
	case xml.EndElement:
		x.depth--
	case xml.Directive:
		if bytes.Contains(v, []byte("<!ENTITY")) || bytes.Contains(v, []byte("ENTITY")) {
			return nil, fail(ErrUnsafe, adviceUnsafe, "%s declares XML entities, the trick of entity-expansion (billion laughs) attacks", x.part)
		}
	}
	return t, nil
}

// checkXML vets a small XML part before xml.Unmarshal reads it.
func checkXML(data []byte, part string, lim Limits) error {
	x := newXMLReader(bytes.NewReader(data), part, lim)
	for {
		_, err := x.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// unmarshalPart reads a small XML part of the archive into v after vetting it.
func (a *archive) unmarshalPart(name string, v any) error {
	data, err := a.open(name)
	if err != nil {
		return err
	}
	if err := checkXML(data, name, a.lim); err != nil {
		return err
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return fail(ErrMalformed, adviceMalformed, "%s is not valid XML (%v)", name, err)
	}
	return nil
}

func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func missing(part string) error {
	return fail(ErrMalformed, adviceMalformed, "the archive has no %s", part)
}
