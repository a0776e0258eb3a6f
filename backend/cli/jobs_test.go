package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/store"
)

func runJobs(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(t.Context(), append([]string{"jobs"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestJobsListsTheQueueWithProgress(t *testing.T) {
	root := t.TempDir()
	t.Setenv(home.EnvHome, root)
	dirs, err := home.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, code := runJobs(t); code != 0 {
		t.Fatalf("empty home: exit %d", code)
	}
	if _, err := os.Stat(dirs.Database()); err == nil {
		t.Fatal("listing jobs created a database")
	}
	os.MkdirAll(filepath.Dir(dirs.Database()), 0o755)
	st, err := store.Open(t.Context(), dirs.Database(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(title string) store.Job {
		p, err := st.CreateProject(t.Context(), store.NewProject{Title: title, Chapters: []store.NewChapter{{Segments: []store.NewSegment{
			{Source: "Một.", Spoken: "một", Voice: "v"}, {Source: "Hai.", Spoken: "hai", Voice: "v"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		j, err := st.EnqueueJob(t.Context(), store.JobSpec{ProjectID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	running := mk("Truyện Kiều")
	canceled := mk("Lục Vân Tiên")
	if _, err := st.CancelJob(t.Context(), canceled.ID); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, errs, code := runJobs(t)
	if code != 0 || !strings.Contains(out, "Truyện Kiều") || strings.Contains(out, "Lục Vân Tiên") || !strings.Contains(out, "0/2") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	out, errs, code = runJobs(t, "--all", "--json")
	var rows []jobRow
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, r := range rows {
		want := map[int64]string{running.ID: "queued", canceled.ID: "canceled"}[r.ID]
		if r.State != want || r.Total != 2 {
			t.Fatalf("job %+v, want state %s", r, want)
		}
	}
	if _, _, code := runJobs(t, "extra"); code != 2 {
		t.Fatalf("stray argument: exit %d", code)
	}
}
