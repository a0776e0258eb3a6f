// Package render is the content-addressed cache of synthesized segments. A render is the audio of
// one segment for one (model, voice, spoken text, speed, seed, pipeline version); its key is a
// hash of exactly those inputs, so rendering unchanged input again is a cache hit and an edit
// re-renders only what changed.
//
// Files are WAV, mono, 32-bit IEEE float at 22050 Hz (a 44-byte RIFF header, a 16-byte fmt chunk
// with format tag 3, then one data chunk), stored as <dir>/<first two hex digits>/<key>.wav. A file
// is written to a temporary name in the same directory, synced, renamed into place, and the
// directory synced, so a crash leaves either no file or a whole one. The same samples always give
// the same bytes.
package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/inference"
)

// Key is the hex SHA-256 of a render's inputs.
type Key string

// Inputs are what a render depends on.
type Inputs struct {
	Model    string // model id (bundle hash or name and version)
	Voice    string
	Text     string // spoken form; NFC-normalized by KeyOf
	Speed    float64
	Seed     uint64
	Pipeline string // version of the synthesis pipeline code
}

// KeyOf hashes the inputs. Each field is length-prefixed, so no two different inputs collide by
// concatenation.
func KeyOf(in Inputs) Key {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field("viettts-render-v1")
	field(in.Model)
	field(in.Voice)
	field(norm.NFC.String(in.Text))
	field(strconv.FormatFloat(in.Speed, 'g', -1, 64))
	field(strconv.FormatUint(in.Seed, 10))
	field(in.Pipeline)
	return Key(hex.EncodeToString(h.Sum(nil)))
}

// Valid reports whether k looks like a key (64 lower-case hex digits).
func (k Key) Valid() bool {
	if len(k) != 64 {
		return false
	}
	for _, c := range k {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Entry describes one render file.
type Entry struct {
	Key Key
	// Name is the file's path relative to the cache directory (what the store keeps).
	Name    string
	Bytes   int64
	SHA256  string
	Seconds float64
}

// Cache is a directory of render files. It is safe for concurrent use: writers of the same key
// write identical bytes and the rename is atomic.
type Cache struct {
	dir    string
	noSync bool
	dirs   sync.Map // subdirectories known to exist
}

// Options configure a Cache.
type Options struct {
	// NoSync skips the file and directory syncs. Files are still written to a temporary name and
	// renamed, so a crash of the app leaves no partial file, but a power loss may lose renders
	// that the database records (start-up recovery finds and re-renders them). For benchmarks
	// that separate the cost of the disk from the cost of scheduling.
	NoSync bool
}

// Open returns the cache in dir, creating the directory.
func Open(dir string) (*Cache, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with options.
func OpenWith(dir string, o Options) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the render cache directory %s: %w (check permissions and free space)", dir, err)
	}
	return &Cache{dir: dir, noSync: o.NoSync}, nil
}

// Dir is the cache directory.
func (c *Cache) Dir() string { return c.dir }

// Name is the relative file name of key k.
func Name(k Key) string { return filepath.Join(string(k[:2]), string(k)+".wav") }

// Path is the absolute path of a relative name.
func (c *Cache) Path(name string) string { return filepath.Join(c.dir, name) }

const tempSuffix = ".tmp"

// Put stores samples under k and returns the entry. When a file with exactly these bytes is
// already there, nothing is written (a cache hit).
func (c *Cache) Put(k Key, samples []float32) (Entry, error) {
	if !k.Valid() {
		return Entry{}, fmt.Errorf("render key %q is not a SHA-256 hex digest", k)
	}
	data := EncodeWAV(samples)
	sum := sha256.Sum256(data)
	e := Entry{Key: k, Name: Name(k), Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		Seconds: float64(len(samples)) / inference.SampleRate}
	path := c.Path(e.Name)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return e, nil
	}
	dir := filepath.Dir(path)
	if _, made := c.dirs.Load(dir); !made {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Entry{}, writeError(k, fmt.Errorf("creating the folder %s: %w", dir, err))
		}
		c.dirs.Store(dir, true)
	}
	f, err := os.CreateTemp(dir, string(k)+".*"+tempSuffix)
	if err != nil {
		return Entry{}, writeError(k, err)
	}
	tmp := f.Name()
	fail := func(err error) (Entry, error) {
		f.Close()
		os.Remove(tmp)
		return Entry{}, writeError(k, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if !c.noSync {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return Entry{}, writeError(k, err)
	}
	if c.noSync {
		return e, nil
	}
	if err := syncDir(dir); err != nil {
		return Entry{}, fmt.Errorf("writing render %s: syncing %s: %w", k, dir, err)
	}
	return e, nil
}

// ErrNoSpace means the disk of the render cache is full (or the user's quota is used up): the
// render was not written, and nothing else was changed.
var ErrNoSpace = errors.New("the disk of the render cache is full")

// writeError says a render could not be written, and marks a full disk with ErrNoSpace.
func writeError(k Key, err error) error {
	if isNoSpace(err) {
		return fmt.Errorf("writing render %s: %w (%w): free some space on that disk", k, ErrNoSpace, err)
	}
	return fmt.Errorf("writing render %s: %w (check free disk space and the folder's permissions)", k, err)
}

// EncodedSize is the size in bytes of the file of a render of n samples.
func EncodedSize(n int) int64 { return 44 + 4*int64(n) }

// Probe checks that the cache's disk takes n more bytes (ProbeDir).
func (c *Cache) Probe(n int64) error { return ProbeDir(c.dir, n) }

// ProbeDir checks that the disk of dir takes n more bytes: it writes, syncs and removes a
// temporary file of n bytes there (named like the cache's temporary files, so a crash leaves
// nothing CleanTemp would not remove in a cache). The error is ErrNoSpace when the disk is full.
func ProbeDir(dir string, n int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return probeError(dir, err)
	}
	f, err := os.CreateTemp(dir, "probe.*"+tempSuffix)
	if err != nil {
		return probeError(dir, err)
	}
	defer os.Remove(f.Name())
	buf := make([]byte, min(n, 1<<20))
	for left := n; left > 0; left -= int64(len(buf)) {
		if _, err := f.Write(buf[:min(left, int64(len(buf)))]); err != nil {
			f.Close()
			return probeError(dir, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return probeError(dir, err)
	}
	if err := f.Close(); err != nil {
		return probeError(dir, err)
	}
	return nil
}

func probeError(dir string, err error) error {
	if isNoSpace(err) {
		return fmt.Errorf("%s: %w (%w)", dir, ErrNoSpace, err)
	}
	return fmt.Errorf("%s: %w", dir, err)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ErrMissing means a render file is not in the cache.
var ErrMissing = errors.New("render file is missing")

// ErrCorrupt means a render file's bytes do not match the hash recorded for it.
var ErrCorrupt = errors.New("render file is corrupt")

// Verify checks that the file of e exists and has e's SHA-256.
func (c *Cache) Verify(e Entry) error {
	f, err := os.Open(c.Path(e.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrMissing, e.Name)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("reading render %s: %w", e.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 || n != e.Bytes {
		return fmt.Errorf("%w: %s has %d bytes with sha256 %s, expected %d bytes with %s", ErrCorrupt, e.Name, n, got, e.Bytes, e.SHA256)
	}
	return nil
}

// Load reads the samples of the render named name.
func (c *Cache) Load(name string) ([]float32, error) {
	data, err := os.ReadFile(c.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrMissing, name)
	}
	if err != nil {
		return nil, err
	}
	s, rate, err := DecodeWAV(data)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	if rate != inference.SampleRate {
		return nil, fmt.Errorf("render %s: sample rate %d, expected %d", name, rate, inference.SampleRate)
	}
	return s, nil
}

// CleanTemp removes temporary files left by writes that a crash interrupted. Call it only when no
// other process writes to the cache (at start-up, under the single-instance lock).
func (c *Cache) CleanTemp() (int, error) {
	n := 0
	err := filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), tempSuffix) {
			if err := os.Remove(path); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// EncodeWAV encodes mono float32 samples at inference.SampleRate as a WAV file.
func EncodeWAV(samples []float32) []byte {
	const rate = inference.SampleRate
	dataLen := 4 * len(samples)
	b := make([]byte, 44+dataLen)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+dataLen))
	copy(b[8:], "WAVE")
	copy(b[12:], "fmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 3) // IEEE float
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate*4)
	binary.LittleEndian.PutUint16(b[32:], 4)
	binary.LittleEndian.PutUint16(b[34:], 32)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(dataLen))
	for i, v := range samples {
		binary.LittleEndian.PutUint32(b[44+4*i:], math.Float32bits(v))
	}
	return b
}

// DecodeWAV decodes a mono WAV file of 32-bit float or 16-bit integer samples and returns the
// samples and the sample rate. Chunks other than fmt and data are skipped.
func DecodeWAV(b []byte) ([]float32, int, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a WAV file (no RIFF/WAVE header)")
	}
	var format, channels, bits uint16
	var rate uint32
	haveFmt := false
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4:]))
		body := p + 8
		if size < 0 || size > len(b)-body {
			return nil, 0, fmt.Errorf("WAV chunk %q claims %d bytes but only %d remain", id, size, len(b)-body)
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("WAV fmt chunk is %d bytes, need 16", size)
			}
			format = binary.LittleEndian.Uint16(b[body:])
			channels = binary.LittleEndian.Uint16(b[body+2:])
			rate = binary.LittleEndian.Uint32(b[body+4:])
			bits = binary.LittleEndian.Uint16(b[body+14:])
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, errors.New("WAV data chunk comes before the fmt chunk")
			}
			if channels != 1 {
				return nil, 0, fmt.Errorf("WAV has %d channels, expected mono", channels)
			}
			d := b[body : body+size]
			switch {
			case format == 3 && bits == 32:
				s := make([]float32, len(d)/4)
				for i := range s {
					s[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
				}
				return s, int(rate), nil
			case format == 1 && bits == 16:
				s := make([]float32, len(d)/2)
				for i := range s {
					s[i] = float32(int16(binary.LittleEndian.Uint16(d[2*i:]))) / 32768
				}
				return s, int(rate), nil
			}
			return nil, 0, fmt.Errorf("WAV format %d with %d bits is not supported (float32 or int16 PCM)", format, bits)
		}
		p = body + size + size%2
	}
	return nil, 0, errors.New("WAV file has no data chunk")
}
