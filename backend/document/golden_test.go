package document

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestTheSampleImportsToItsGoldenModel pins the JSON the store persists: field names, kinds,
// levels, table positions, note labels and text of the sample document. Run with -update after
// a deliberate change, and read the diff.
func TestTheSampleImportsToItsGoldenModel(t *testing.T) {
	doc, err := Import(t.Context(), sampleSource, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "sample.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the model of the sample changed; if on purpose, run `go test -run Golden ./backend/document/ -args -update` and review the diff.\ngot:\n%s", got)
	}
}
