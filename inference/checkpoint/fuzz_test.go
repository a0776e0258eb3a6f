package checkpoint

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures returns the bytes of every .pt file in testdata.
func fixtures(f *testing.F) map[string][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.pt"))
	if len(paths) == 0 {
		f.Fatal("no fixtures in testdata: run tools/fixtures/pt/make_fixtures.py")
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out[p] = b
	}
	return out
}

// FuzzOpen feeds arbitrary bytes to the archive reader and reads every tensor it accepts: it
// must return errors, never panic or run away with memory.
func FuzzOpen(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := checkpointFromBytes(b, "fuzz.pt")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.pt: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, k := range sd.Keys() {
			tn, _ := sd.Tensor(k)
			if tn.Numel() > 1<<20 {
				continue
			}
			tn.Float32()
		}
	})
}

// FuzzUnpickle feeds arbitrary pickles to the unpickler.
func FuzzUnpickle(f *testing.F) {
	for _, b := range fixtures(f) {
		zr, err := zip.NewReader(strings.NewReader(string(b)), int64(len(b)))
		if err != nil {
			continue
		}
		for _, e := range zr.File {
			if strings.HasSuffix(e.Name, "data.pkl") {
				rc, _ := e.Open()
				p, _ := io.ReadAll(rc)
				rc.Close()
				f.Add(p)
			}
		}
	}
	f.Add([]byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00ls\x85R."))
	f.Fuzz(func(t *testing.T, b []byte) {
		unpickle(b)
	})
}

// FuzzParseConfig feeds arbitrary text to the config reader.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("sample_rate: 22050\ntext_token_size: 60515\nspeech_token_size: 4096\nspk_embed_dim: 192\n"))
	f.Add([]byte("llm: !new:x.y\n    a: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseConfig(b, "config.yaml")
	})
}
