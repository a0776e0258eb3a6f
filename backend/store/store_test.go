package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/internal/testfs"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "studio.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// book makes a project of chapters × perChapter segments with distinct texts.
func book(t *testing.T, s *Store, title string, chapters, perChapter int) Project {
	t.Helper()
	np := NewProject{Title: title, Format: "txt"}
	for c := range chapters {
		ch := NewChapter{Title: fmt.Sprintf("Chương %d", c+1)}
		for i := range perChapter {
			text := fmt.Sprintf("%s câu %d.%d", title, c, i)
			ch.Segments = append(ch.Segments, NewSegment{Source: text, Spoken: text, Voice: "v1", Seed: uint64(i)})
		}
		np.Chapters = append(np.Chapters, ch)
	}
	p, err := s.CreateProject(t.Context(), np)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func claim(t *testing.T, s *Store) Claim {
	t.Helper()
	c, ok, _, err := s.ClaimNext(t.Context())
	if err != nil || !ok {
		t.Fatalf("claim: ok=%v err=%v", ok, err)
	}
	return c
}

func fakeRender(id int64) Render {
	return Render{Hash: fmt.Sprintf("%064x", id), Path: fmt.Sprintf("r/%d.wav", id), Seconds: 1, Bytes: 10, SHA256: "x"}
}

func TestOpenSetsWALForeignKeysAndBusyTimeout(t *testing.T) {
	s := open(t)
	p, err := s.Pragmas(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("PRAGMA %s = %q, want %q", k, p[k], v)
		}
	}
	if v, _ := s.SchemaVersionOf(t.Context()); v != SchemaVersion {
		t.Errorf("schema version %d, want %d", v, SchemaVersion)
	}
}

func TestMigrationFromVersionOneKeepsProjects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	// Build a version 1 database the way an older release would have left it.
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{path: path, w: db, log: discard(), now: time.Now}
	if err := old.migrateTo(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO projects (title, created_at) VALUES ('Truyện Kiều', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`SELECT * FROM settings`); err == nil {
		t.Fatal("version 1 already has a settings table: the migration test tests nothing")
	}
	db.Close()

	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := s.Projects(t.Context())
	if err != nil || len(ps) != 1 || ps[0].Title != "Truyện Kiều" {
		t.Fatalf("projects after migration: %v %v", ps, err)
	}
	if err := s.Settings().SetInstances(t.Context(), "auto"); err != nil {
		t.Fatalf("settings table missing after migration: %v", err)
	}
}

func TestOpenRefusesADatabaseFromANewerVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(t.Context(), path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("got %v, want ErrNewerSchema", err)
	}
}

func TestTextsAreStoredNFC(t *testing.T) {
	s := open(t)
	decomposed := "Tie\u0302\u0301ng Vie\u0323\u0302t" // "Tiếng Việt" in NFD
	p, err := s.CreateProject(t.Context(), NewProject{Title: decomposed, Chapters: []NewChapter{{
		Segments: []NewSegment{{Source: decomposed, Spoken: decomposed, Voice: "v"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := s.Segments(t.Context(), SegmentQuery{ProjectID: p.ID})
	if p.Title != "Tiếng Việt" || segs[0].Spoken != "Tiếng Việt" || segs[0].Source != "Tiếng Việt" {
		t.Fatalf("not NFC: %q %q", p.Title, segs[0].Spoken)
	}
	if _, err := s.EditSegment(t.Context(), segs[0].ID, decomposed+" ơi"); err != nil {
		t.Fatal(err)
	}
	g, _ := s.Segment(t.Context(), segs[0].ID)
	if g.Spoken != "Tiếng Việt ơi" {
		t.Fatalf("edit not NFC: %q", g.Spoken)
	}
}

func TestClaimOrderPutsInteractiveFirstAndRoundRobinsBulkJobs(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	a := book(t, s, "A", 1, 5)
	b := book(t, s, "B", 1, 5)
	ja, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: a.ID})
	jb, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: b.ID})
	var order []int64
	for range 4 {
		c := claim(t, s)
		order = append(order, c.Segment.JobID)
	}
	if order[0] != ja.ID || order[1] != jb.ID || order[2] != ja.ID || order[3] != jb.ID {
		t.Fatalf("bulk jobs not served round robin: %v (jobs %d, %d)", order, ja.ID, jb.ID)
	}
	segsB, _ := s.Segments(ctx, SegmentQuery{ProjectID: b.ID})
	last := segsB[4]
	ji, err := s.RenderNow(ctx, b.ID, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := claim(t, s)
	if c.Segment.ID != last.ID || c.Segment.JobID != ji.ID {
		t.Fatalf("interactive segment not first: got segment %d of job %d", c.Segment.ID, c.Segment.JobID)
	}
	if j, _ := s.Job(ctx, jb.ID); j.Total != 4 {
		t.Fatalf("bulk job should have given its segment to the preview: total %d", j.Total)
	}
}

// RenderNow is Enqueue in the interactive lane (a store-level helper for tests and tools).
func (s *Store) RenderNow(ctx context.Context, projectID int64, ids ...int64) (Job, error) {
	return s.EnqueueJob(ctx, JobSpec{ProjectID: projectID, SegmentIDs: ids, Priority: PriorityInteractive})
}

func TestCompletionWithAStaleLeaseIsRejected(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 2)
	j, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	c := claim(t, s)
	if _, err := s.Complete(ctx, c.Segment.ID, "not-the-lease", fakeRender(1)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("wrong lease: got %v, want ErrLeaseLost", err)
	}
	// Recovery (as after a crash) voids the lease and the segment is claimed anew.
	if _, err := s.Recover(ctx, func(Render) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c2 := claim(t, s)
	if c2.Segment.ID != c.Segment.ID || c2.Segment.Attempts != 1 {
		t.Fatalf("recovered segment: got %d attempts %d", c2.Segment.ID, c2.Segment.Attempts)
	}
	if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(1)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("old worker completing: got %v, want ErrLeaseLost", err)
	}
	if _, err := s.Complete(ctx, c2.Segment.ID, c2.Lease, fakeRender(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Complete(ctx, c2.Segment.ID, c2.Lease, fakeRender(3)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("second completion: got %v, want ErrLeaseLost", err)
	}
	g, _ := s.Segment(ctx, c.Segment.ID)
	if g.State != StateDone || g.RenderHash != fakeRender(2).Hash {
		t.Fatalf("segment %+v: the newer result must stand", g)
	}
	if jj, _ := s.Job(ctx, j.ID); jj.State != StateRunning || jj.Done != 1 {
		t.Fatalf("job %+v", jj)
	}
}

func TestJobCommandsFollowTheStateDiagram(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 2, 2)
	j, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	if j.State != StateQueued || j.Total != 4 || j.Queued != 4 {
		t.Fatalf("new job %+v", j)
	}
	c := claim(t, s)
	if err := s.PauseJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _, _ := s.ClaimNext(ctx); ok {
		t.Fatal("claimed from a paused job")
	}
	// The running segment finishes; the job stays paused.
	if jj, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(1)); err != nil || jj.State != StatePaused {
		t.Fatalf("complete in paused job: %+v %v", jj, err)
	}
	if err := s.ResumeJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	c = claim(t, s)
	if _, err := s.Fail(ctx, c.Segment.ID, c.Lease, "bad text"); err != nil {
		t.Fatal(err)
	}
	c = claim(t, s)
	rs, err := s.CancelJob(ctx, j.ID)
	if err != nil || len(rs) != 1 || rs[0].SegmentID != c.Segment.ID {
		t.Fatalf("cancel: %v %v", rs, err)
	}
	if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(2)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("completing a canceled segment: %v", err)
	}
	jj, _ := s.Job(ctx, j.ID)
	if jj.State != StateCanceled || jj.Done != 1 || jj.Failed != 1 || jj.Canceled != 2 {
		t.Fatalf("canceled job %+v", jj)
	}
	if err := s.PauseJob(ctx, j.ID); !errors.Is(err, ErrJobFinished) {
		t.Fatalf("pausing a canceled job: %v", err)
	}
	if err := s.RetryJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c = claim(t, s)
		if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(c.Segment.ID)); err != nil {
			t.Fatal(err)
		}
	}
	jj, _ = s.Job(ctx, j.ID)
	if jj.State != StateDone || jj.Done != 4 {
		t.Fatalf("retried job %+v", jj)
	}
	if _, ok, _, _ := s.ClaimNext(ctx); ok {
		t.Fatal("claimed after everything was done")
	}
}

func TestSegmentPauseResumeCancelRetry(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 2)
	j, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	segs, _ := s.Segments(ctx, SegmentQuery{JobID: j.ID})
	if err := s.PauseSegment(ctx, segs[0].ID); err != nil {
		t.Fatal(err)
	}
	c := claim(t, s)
	if c.Segment.ID != segs[1].ID {
		t.Fatalf("claimed paused segment %d", c.Segment.ID)
	}
	if err := s.PauseSegment(ctx, c.Segment.ID); !errors.Is(err, ErrWrongState) {
		t.Fatalf("pausing a running segment: %v", err)
	}
	rs, err := s.CancelSegment(ctx, c.Segment.ID)
	if err != nil || len(rs) != 1 {
		t.Fatalf("cancel running segment: %v %v", rs, err)
	}
	if err := s.ResumeSegment(ctx, segs[0].ID); err != nil {
		t.Fatal(err)
	}
	c2 := claim(t, s)
	if _, err := s.Complete(ctx, c2.Segment.ID, c2.Lease, fakeRender(1)); err != nil {
		t.Fatal(err)
	}
	if jj, _ := s.Job(ctx, j.ID); jj.State != StateDone || jj.Canceled != 1 {
		t.Fatalf("job %+v", jj)
	}
	if err := s.RetrySegment(ctx, c.Segment.ID); err != nil {
		t.Fatal(err)
	}
	if jj, _ := s.Job(ctx, j.ID); jj.State != StateQueued {
		t.Fatalf("retrying a segment must reopen its job: %+v", jj)
	}
	if err := s.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRetryLaterWaitsForItsTime(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	now := time.UnixMilli(1_000_000)
	s.now = func() time.Time { return now }
	p := book(t, s, "A", 1, 1)
	s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	c := claim(t, s)
	if _, err := s.RetryLater(ctx, c.Segment.ID, c.Lease, now.Add(5*time.Second), "busy"); err != nil {
		t.Fatal(err)
	}
	_, ok, wake, err := s.ClaimNext(ctx)
	if ok || err != nil || !wake.Equal(now.Add(5*time.Second)) {
		t.Fatalf("claim before backoff: ok=%v wake=%v err=%v", ok, wake, err)
	}
	now = now.Add(5 * time.Second)
	c = claim(t, s)
	if c.Segment.Attempts != 1 || c.Segment.Error != "busy" {
		t.Fatalf("segment %+v", c.Segment)
	}
}

func TestRecoverRequeuesRunningAndDropsBadRenders(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 3)
	j, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	c1 := claim(t, s)
	s.Complete(ctx, c1.Segment.ID, c1.Lease, fakeRender(1))
	c2 := claim(t, s)
	s.Complete(ctx, c2.Segment.ID, c2.Lease, fakeRender(2))
	claim(t, s) // left running by the "dead" process
	rec, err := s.Recover(ctx, func(r Render) error {
		if r.Hash == fakeRender(2).Hash {
			return errors.New("file missing")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Requeued != 1 || len(rec.BadRenders) != 1 || rec.Unrendered != 1 {
		t.Fatalf("recovery %+v", rec)
	}
	jj, _ := s.Job(ctx, j.ID)
	if jj.Done != 1 || jj.Queued != 2 || jj.Running != 0 || jj.State != StateQueued {
		t.Fatalf("job after recovery %+v", jj)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentClaimersNeverShareASegment(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	for i := range 4 {
		p := book(t, s, fmt.Sprint("P", i), 2, 25)
		if _, err := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				c, ok, _, err := s.ClaimNext(ctx)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				seen[c.Segment.ID]++
				mu.Unlock()
				if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(c.Segment.ID)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := s.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 200 {
		t.Fatalf("claimed %d distinct segments, want 200", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("segment %d claimed %d times", id, n)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	st := s.Settings()
	if v, _ := st.Instances(ctx); v != "default" {
		t.Fatalf("default instances %q", v)
	}
	for _, bad := range []string{"0", "17", "many", ""} {
		if err := st.SetInstances(ctx, bad); err == nil {
			t.Errorf("instances %q accepted", bad)
		}
	}
	if err := st.SetInstances(ctx, " 3 "); err != nil {
		t.Fatal(err)
	}
	if v, _ := st.Instances(ctx); v != "3" {
		t.Fatalf("instances %q", v)
	}
	if err := st.SetProvider(ctx, "tpu"); err == nil {
		t.Error("provider tpu accepted")
	}
	if v, _ := st.Provider(ctx); v != "auto" {
		t.Fatalf("provider %q", v)
	}
}

func TestLexiconScopesAndValidation(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 1)
	if _, err := s.AddLexiconEntry(ctx, LexiconEntry{Pattern: "(", IsRegex: true, Spoken: "x"}); err == nil {
		t.Fatal("broken regex accepted")
	}
	if _, err := s.AddLexiconEntry(ctx, LexiconEntry{Pattern: "TP.HCM", Spoken: "tha\u0300nh pho\u0302\u0301"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLexiconEntry(ctx, LexiconEntry{ProjectID: p.ID, Pattern: "AI", Spoken: "ây ai"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLexiconEntry(ctx, LexiconEntry{Pattern: "TP.HCM", Spoken: "thành phố Hồ Chí Minh"}); err != nil {
		t.Fatal(err)
	}
	global, _ := s.LexiconEntries(ctx, 0)
	all, _ := s.LexiconEntries(ctx, p.ID)
	if len(global) != 1 || global[0].Spoken != "thành phố Hồ Chí Minh" || len(all) != 2 {
		t.Fatalf("global %+v all %+v", global, all)
	}
	if err := s.PutVoice(ctx, Voice{ID: "nu-mien-bac", Name: "Nữ miền Bắc", Source: "builtin"}); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.Voices(ctx); len(vs) != 1 || vs[0].Name != "Nữ miền Bắc" {
		t.Fatalf("voices %+v", vs)
	}
}

func TestMigrationThreeCountsExistingJobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{path: path, w: db, log: discard(), now: time.Now}
	if err := old.migrateTo(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO projects (id, title, created_at) VALUES (1, 'p', 1)`,
		`INSERT INTO chapters (id, project_id, idx) VALUES (1, 1, 0)`,
		`INSERT INTO jobs (id, project_id, state, position, created_at) VALUES (1, 1, 'running', 1, 1)`,
		`INSERT INTO segments (chapter_id, idx, source_text, spoken_text, voice, state, job_id, seconds) VALUES
			(1, 0, 'a', 'a', 'v', 'done', 1, 1.5), (1, 1, 'b', 'b', 'v', 'done', 1, 2), (1, 2, 'c', 'c', 'v', 'queued', 1, 0),
			(1, 3, 'd', 'd', 'v', 'failed', 1, 0), (1, 4, 'e', 'e', 'v', 'new', NULL, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(t.Context(), path, Options{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j, err := s.Job(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if j.Total != 4 || j.Done != 2 || j.Queued != 1 || j.Failed != 1 || j.AudioSeconds != 3.5 {
		t.Fatalf("counts after migration: %+v", j.Counts)
	}
	if err := s.CheckCounters(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRecoverRepairsCountersThatDrifted(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 3)
	j, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	if _, err := s.w.Exec(`UPDATE jobs SET n_done = 7 WHERE id = ?`, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckCounters(ctx); err == nil {
		t.Fatal("drifted counters not found")
	}
	rec, err := s.Recover(ctx, func(Render) error { return nil })
	if err != nil || !rec.CountersRepaired {
		t.Fatalf("recovery %+v %v", rec, err)
	}
	if err := s.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEnqueueTakesOnlyWhatNoUnfinishedJobOwns(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 2, 3)
	first, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	again, err := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	if err != nil || again.Total != 0 || again.State != StateDone {
		t.Fatalf("second job over a queued project: %+v %v", again, err)
	}
	for range 6 {
		c := claim(t, s)
		if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(c.Segment.ID)); err != nil {
			t.Fatal(err)
		}
	}
	chapters, _ := s.Chapters(ctx, p.ID)
	rerun, err := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID, ChapterID: chapters[1].ID})
	if err != nil || rerun.Total != 3 || rerun.Done != 3 || rerun.State != StateDone {
		t.Fatalf("job over a rendered chapter: %+v %v", rerun, err)
	}
	if j, _ := s.Job(ctx, first.ID); j.Total != 3 || j.State != StateDone {
		t.Fatalf("first job after giving up a chapter: %+v", j)
	}
	if _, ok, _, _ := s.ClaimNext(ctx); ok {
		t.Fatal("rendered segments were queued again")
	}
	if _, err := s.EnqueueJob(ctx, JobSpec{ProjectID: 999}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown project: %v", err)
	}
	if err := s.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteProjectRemovesItsWork(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 3)
	keep := book(t, s, "B", 1, 2)
	s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	kj, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: keep.ID})
	if err := s.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProject(ctx, p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	jobs, _ := s.Jobs(ctx, false)
	segs, _ := s.Segments(ctx, SegmentQuery{})
	if len(jobs) != 1 || jobs[0].ID != kj.ID || len(segs) != 2 {
		t.Fatalf("jobs %+v, %d segments", jobs, len(segs))
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMoveJobAndPriorityChangeTheOrder(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	a, b, c := book(t, s, "A", 1, 2), book(t, s, "B", 1, 2), book(t, s, "C", 1, 2)
	ja, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: a.ID})
	jb, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: b.ID})
	jc, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: c.ID})
	if err := s.MoveJob(ctx, jc.ID, ja.ID); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s).Segment.JobID; got != jc.ID {
		t.Fatalf("moved job not first: %d", got)
	}
	if err := s.SetJobPriority(ctx, jb.ID, 50); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s).Segment.JobID; got != jb.ID {
		t.Fatalf("raised job not first: %d", got)
	}
	jobs, _ := s.Jobs(ctx, true)
	if jobs[0].ID != jb.ID || jobs[1].ID != jc.ID || jobs[2].ID != ja.ID {
		t.Fatalf("listed order %d %d %d", jobs[0].ID, jobs[1].ID, jobs[2].ID)
	}
	if err := s.MoveJob(ctx, 999, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("moving an unknown job: %v", err)
	}
}

func TestTxFormsCommitOrRollBackWithTheCallersWork(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	// Import and queue in one transaction, then roll back: nothing is left.
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProjectTx(ctx, tx, NewProject{Title: "T", Chapters: []NewChapter{{Segments: []NewSegment{{Source: "a", Spoken: "a", Voice: "v"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueJobTx(ctx, tx, JobSpec{ProjectID: p.ID}); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if ps, _ := s.Projects(ctx); len(ps) != 0 {
		t.Fatalf("rolled back import left %d projects", len(ps))
	}
	// A completion rolled back leaves the claim intact: the lease still holds.
	pr := book(t, s, "A", 1, 1)
	s.EnqueueJob(ctx, JobSpec{ProjectID: pr.ID})
	c := claim(t, s)
	tx, _ = s.Begin(ctx)
	if _, err := s.CompleteTx(ctx, tx, c.Segment.ID, c.Lease, fakeRender(1)); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if g, _ := s.Segment(ctx, c.Segment.ID); g.State != StateRunning {
		t.Fatalf("segment %s after a rolled back completion", g.State)
	}
	if _, ok, _ := s.RenderOf(ctx, fakeRender(1).Hash); ok {
		t.Fatal("render row of a rolled back completion")
	}
	if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(1)); err != nil {
		t.Fatal(err)
	}
}

func TestSetReadingResetsOnlyTheSegmentsWhoseVoiceChanges(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 2, 3)
	j, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	chapters, _ := s.Chapters(ctx, p.ID)
	var running Claim
	for i := range 6 {
		c := claim(t, s)
		if i == 5 {
			running = c // the last segment of chapter 2 is being synthesized
			break
		}
		if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(c.Segment.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if running.Segment.ChapterID != chapters[1].ID {
		t.Fatalf("claimed %+v, want a segment of the second chapter", running.Segment)
	}

	// Chapter 2's first segment already reads with the new voice: it keeps its audio.
	if _, err := s.w.ExecContext(ctx, `UPDATE segments SET voice = 'v2' WHERE chapter_id = ? AND idx = 0`, chapters[1].ID); err != nil {
		t.Fatal(err)
	}
	changed, rs, err := s.SetReading(ctx, Reading{ProjectID: p.ID, ChapterID: chapters[1].ID, Voice: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 2 || len(rs) != 1 || rs[0] != (Running{SegmentID: running.Segment.ID, Lease: running.Lease}) {
		t.Fatalf("changed %v, running %v", changed, rs)
	}
	if _, err := s.Complete(ctx, running.Segment.ID, running.Lease, fakeRender(99)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a synthesis with the old voice completed: %v", err)
	}
	all, _ := s.Segments(ctx, SegmentQuery{ProjectID: p.ID})
	for _, g := range all {
		isChanged := g.ID == changed[0] || g.ID == changed[1]
		switch {
		case isChanged && (g.Voice != "v2" || g.State != StateNew || g.JobID != 0 || g.RenderHash != ""):
			t.Errorf("changed segment %+v", g)
		case !isChanged && g.State != StateDone:
			t.Errorf("untouched segment %+v", g)
		case !isChanged && g.ChapterID == chapters[0].ID && g.Voice != "v1":
			t.Errorf("a segment of the other chapter reads with %s", g.Voice)
		}
	}
	if jj, _ := s.Job(ctx, j.ID); jj.Total != 4 || jj.Done != 4 || jj.State != StateDone {
		t.Fatalf("job after giving up two segments: %+v", jj)
	}

	// The same voice again changes nothing; a new speed for the whole project changes all six.
	if changed, _, err := s.SetReading(ctx, Reading{ProjectID: p.ID, ChapterID: chapters[1].ID, Voice: "v2"}); err != nil || len(changed) != 0 {
		t.Fatalf("setting the voice a chapter has: %v %v", changed, err)
	}
	if changed, _, err := s.SetReading(ctx, Reading{ProjectID: p.ID, Voice: "v2", Speed: 1.25}); err != nil || len(changed) != 6 {
		t.Fatalf("a new speed for the project: %v %v", changed, err)
	}
	// A speed alone keeps each segment's voice.
	if changed, _, err := s.SetReading(ctx, Reading{ProjectID: p.ID, ChapterID: chapters[1].ID, Speed: 0.9}); err != nil || len(changed) != 3 {
		t.Fatalf("a new speed for a chapter: %v %v", changed, err)
	}
	if _, _, err := s.SetReading(ctx, Reading{ProjectID: p.ID}); err == nil {
		t.Error("a reading with neither voice nor speed was accepted")
	}
	rc, err := s.Readings(ctx, p.ID)
	if err != nil || len(rc) != 2 || rc[0] != (ReadingCount{ChapterID: chapters[0].ID, Voice: "v2", Speed: 1.25, Segments: 3}) ||
		rc[1] != (ReadingCount{ChapterID: chapters[1].ID, Voice: "v2", Speed: 0.9, Segments: 3}) {
		t.Fatalf("readings %+v %v", rc, err)
	}
	if _, _, err := s.SetReading(ctx, Reading{ProjectID: p.ID, ChapterID: 999, Voice: "v2"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown chapter: %v", err)
	}
	if _, _, err := s.SetReading(ctx, Reading{ProjectID: p.ID, Voice: "v1", Speed: 9}); err == nil {
		t.Error("a speed of 9 was accepted")
	}
	if err := s.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
}

// A write on a full disk fails with an error IsFull recognizes, changes nothing, and the same
// write succeeds once space is freed.
func TestAWriteOnAFullDiskIsFullAndChangesNothing(t *testing.T) {
	dir := testfs.Tmpfs(t, "4m")
	s, err := Open(t.Context(), filepath.Join(dir, "studio.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dir() != dir {
		t.Fatalf("Dir %q, want %q", s.Dir(), dir)
	}
	filler := testfs.Fill(t, dir)
	big := NewProject{Title: "Đầy"}
	ch := NewChapter{Title: "Một"}
	for i := range 2000 {
		text := fmt.Sprintf("Câu số %d của một cuốn sách rất dài, đủ để không vừa chỗ còn lại trên đĩa.", i)
		ch.Segments = append(ch.Segments, NewSegment{Source: text, Spoken: text, Voice: "nu", Speed: 1, Seed: uint64(i)})
	}
	big.Chapters = []NewChapter{ch}
	_, err = s.CreateProject(t.Context(), big)
	if !IsFull(err) {
		t.Fatalf("a write on a full disk: %v, want SQLite's disk-full error", err)
	}
	if ps, err := s.Projects(t.Context()); err != nil || len(ps) != 0 {
		t.Fatalf("after the failed write: %d projects, %v", len(ps), err)
	}
	if IsFull(errors.New("database or disk is full")) {
		t.Fatal("IsFull trusts a message, not SQLite's code")
	}
	os.Remove(filler)
	if _, err := s.CreateProject(t.Context(), big); err != nil {
		t.Fatalf("the same write with space: %v", err)
	}
}
