package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/store"
)

func TestAddQueuesDocumentsInTheAppsDatabase(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "truyen.txt")
	os.WriteFile(good, []byte("Chương 1\n\nNgày xưa có một cô bé. Cô bé sống ở làng 12 nhà.\n"), 0o644)
	missing := filepath.Join(dir, "nope.docx")
	out, errOut, code := run(t, "", "add", good, missing)
	if code != 1 || !strings.Contains(out, "job 1 queued") || !strings.Contains(errOut, "nope.docx") {
		t.Fatalf("code %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	dirs, _ := home.Resolve()
	st, err := store.Open(t.Context(), dirs.Database(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, err := st.Jobs(t.Context(), true)
	if err != nil || len(jobs) != 1 || jobs[0].Total == 0 || jobs[0].State != store.StateQueued {
		t.Fatalf("jobs %+v, %v", jobs, err)
	}
}
