package store

import (
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// seeds returns the given seeds one by one, as NewTake's seed source.
func seeds(list ...uint64) func() uint64 {
	return func() uint64 {
		s := list[0]
		list = list[1:]
		return s
	}
}

func segmentOf(t *testing.T, s *Store, p Project) Segment {
	t.Helper()
	gs, err := s.Segments(t.Context(), SegmentQuery{ProjectID: p.ID})
	if err != nil || len(gs) == 0 {
		t.Fatalf("segments: %v %v", gs, err)
	}
	return gs[0]
}

func TestMigrationFourKeepsSegmentsAndStartsWithNoTakes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{path: path, w: db, log: discard(), now: time.Now}
	if err := old.migrateTo(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM takes`).Scan(new(int)); err == nil {
		t.Fatal("version 3 already has a takes table: the migration test tests nothing")
	}
	for _, q := range []string{
		`INSERT INTO projects (id, title, created_at) VALUES (1, 'p', 1)`,
		`INSERT INTO chapters (id, project_id, idx) VALUES (1, 1, 0)`,
		`INSERT INTO segments (id, chapter_id, idx, source_text, spoken_text, voice, seed, state, render_hash, seconds) VALUES
			(7, 1, 0, 'Câu một.', 'câu một', 'v', 42, 'done', 'abc', 1.5)`,
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
	if v, _ := s.SchemaVersionOf(t.Context()); v != SchemaVersion || v < 4 {
		t.Fatalf("schema version %d after migration", v)
	}
	g, err := s.Segment(t.Context(), 7)
	if err != nil || g.Seed != 42 || g.State != StateDone || g.RenderHash != "abc" || g.Spoken != "câu một" {
		t.Fatalf("segment after migration: %+v %v", g, err)
	}
	tk, err := s.Takes(t.Context(), 7)
	if err != nil || !slices.Equal(tk.Seeds, []uint64{42}) || tk.Current != 42 || tk.Index() != 0 {
		t.Fatalf("takes after migration: %+v %v", tk, err)
	}
	if seed, _, err := s.NewTake(t.Context(), 7, seeds(9)); err != nil || seed != 9 {
		t.Fatalf("a new take on a migrated database: %d %v", seed, err)
	}
}

func TestNewTakeKeepsTheTriedSeedsInOrderAndNeverRepeatsOne(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 2)
	if _, err := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID}); err != nil {
		t.Fatal(err)
	}
	c := claim(t, s)
	g := c.Segment
	if _, err := s.Complete(ctx, g.ID, c.Lease, fakeRender(1)); err != nil {
		t.Fatal(err)
	}
	// The seed source offers the current seed and a tried one first: both are passed over.
	seed, rs, err := s.NewTake(ctx, g.ID, seeds(g.Seed, 500, 501))
	if err != nil || seed != 500 || len(rs) != 0 {
		t.Fatalf("first new take: %d %v %v", seed, rs, err)
	}
	seed, _, err = s.NewTake(ctx, g.ID, seeds(500, g.Seed, 502))
	if err != nil || seed != 502 {
		t.Fatalf("second new take: %d %v", seed, err)
	}
	tk, err := s.Takes(ctx, g.ID)
	if err != nil || !slices.Equal(tk.Seeds, []uint64{g.Seed, 500, 502}) || tk.Current != 502 || tk.Index() != 2 {
		t.Fatalf("takes %+v %v", tk, err)
	}
	after, _ := s.Segment(ctx, g.ID)
	if after.Seed != 502 || after.State != StateNew || after.JobID != 0 || after.RenderHash != "" {
		t.Fatalf("segment after a new take: %+v", after)
	}
	if _, _, err := s.NewTake(ctx, g.ID, func() uint64 { return 500 }); err == nil {
		t.Fatal("a seed source that only repeats a tried seed gave a take")
	}
	if _, _, err := s.NewTake(ctx, 9999, seeds(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("new take of an unknown segment: %v", err)
	}
	// The other segment is untouched.
	if other, _ := s.Takes(ctx, g.ID+1); len(other.Seeds) != 1 {
		t.Fatalf("the other segment has takes %+v", other)
	}
	if err := s.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNewTakeVoidsTheRunningSynthesisOfTheOldSeed(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 1)
	j, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID})
	c := claim(t, s)
	_, rs, err := s.NewTake(ctx, c.Segment.ID, seeds(77))
	if err != nil || len(rs) != 1 || rs[0] != (Running{SegmentID: c.Segment.ID, Lease: c.Lease}) {
		t.Fatalf("running %v %v", rs, err)
	}
	if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, fakeRender(1)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the old seed's synthesis completed: %v", err)
	}
	if jj, _ := s.Job(ctx, j.ID); jj.Total != 0 || jj.State != StateDone {
		t.Fatalf("job after losing its only segment: %+v", jj)
	}
}

func TestTakesAreCappedDroppingTheOldestButNotTheOneReplaced(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	g := segmentOf(t, s, book(t, s, "A", 1, 1))
	next := uint64(1000)
	gen := func() uint64 { next++; return next }
	for range MaxTakes + 3 {
		if _, _, err := s.NewTake(ctx, g.ID, gen); err != nil {
			t.Fatal(err)
		}
	}
	tk, _ := s.Takes(ctx, g.ID)
	if len(tk.Seeds) != MaxTakes || tk.Seeds[MaxTakes-1] != next || tk.Seeds[0] != next-MaxTakes+1 {
		t.Fatalf("%d takes kept: %v", len(tk.Seeds), tk.Seeds)
	}
	// Back on the oldest take, a new take keeps it and drops the next oldest.
	oldest, second := tk.Seeds[0], tk.Seeds[1]
	if _, _, err := s.UseTake(ctx, g.ID, oldest, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.NewTake(ctx, g.ID, gen); err != nil {
		t.Fatal(err)
	}
	tk, _ = s.Takes(ctx, g.ID)
	if len(tk.Seeds) != MaxTakes || tk.Seeds[0] != oldest || slices.Contains(tk.Seeds, second) || tk.Current != next {
		t.Fatalf("takes after a new take from the oldest: %v (current %d)", tk.Seeds, tk.Current)
	}
}

func TestUseTakeIsDoneAtOnceWithTheEarlierRender(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 1)
	if _, err := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID}); err != nil {
		t.Fatal(err)
	}
	c := claim(t, s)
	first := fakeRender(1)
	first.Seconds = 2.5
	if _, err := s.Complete(ctx, c.Segment.ID, c.Lease, first); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.NewTake(ctx, c.Segment.ID, seeds(5)); err != nil {
		t.Fatal(err)
	}
	j, _ := s.EnqueueJob(ctx, JobSpec{ProjectID: p.ID, SegmentIDs: []int64{c.Segment.ID}, Priority: PriorityInteractive})
	c2 := claim(t, s) // the new take is being synthesized
	done, rs, err := s.UseTake(ctx, c.Segment.ID, c.Segment.Seed, first.Hash)
	if err != nil || !done || len(rs) != 1 || rs[0].Lease != c2.Lease {
		t.Fatalf("use take: done %v running %v %v", done, rs, err)
	}
	g, _ := s.Segment(ctx, c.Segment.ID)
	if g.State != StateDone || g.Seed != c.Segment.Seed || g.RenderHash != first.Hash || g.Seconds != 2.5 {
		t.Fatalf("segment after going back to the first take: %+v", g)
	}
	if jj, _ := s.Job(ctx, j.ID); jj.State != StateDone || jj.Done != 1 {
		t.Fatalf("the job that rendered the new take: %+v", jj)
	}
	if _, err := s.Complete(ctx, c2.Segment.ID, c2.Lease, fakeRender(2)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the new take's synthesis completed after going back: %v", err)
	}
	// The second take has no render: going to it makes the segment new, to be queued.
	done, _, err = s.UseTake(ctx, c.Segment.ID, 5, fakeRender(3).Hash)
	if g, _ := s.Segment(ctx, c.Segment.ID); err != nil || done || g.State != StateNew || g.Seed != 5 || g.JobID != 0 {
		t.Fatalf("a take without a render: done %v %+v %v", done, g, err)
	}
	if _, _, err := s.UseTake(ctx, c.Segment.ID, 6, ""); !errors.Is(err, ErrNotATake) {
		t.Fatalf("a seed never tried: %v", err)
	}
	if err := s.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestTakesAreForgottenWhenTheTextVoiceOrSpeedChanges(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	p := book(t, s, "A", 1, 3)
	gs, _ := s.Segments(ctx, SegmentQuery{ProjectID: p.ID})
	for _, g := range gs {
		if _, _, err := s.NewTake(ctx, g.ID, seeds(100+uint64(g.ID))); err != nil {
			t.Fatal(err)
		}
	}
	ntakes := func(id int64) int {
		tk, err := s.Takes(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return len(tk.Seeds)
	}
	// The same text again keeps them.
	if _, err := s.EditSegment(ctx, gs[0].ID, gs[0].Spoken); err != nil || ntakes(gs[0].ID) != 2 {
		t.Fatalf("an edit to the same text: %d takes, %v", ntakes(gs[0].ID), err)
	}
	if _, err := s.EditSegment(ctx, gs[0].ID, "khác"); err != nil || ntakes(gs[0].ID) != 1 {
		t.Fatalf("an edit: %d takes, %v", ntakes(gs[0].ID), err)
	}
	if _, _, err := s.UseTake(ctx, gs[0].ID, gs[0].Seed, ""); !errors.Is(err, ErrNotATake) {
		t.Fatalf("a take of the old text was used: %v", err)
	}
	if ntakes(gs[1].ID) != 2 {
		t.Fatal("an edit of another segment forgot these takes")
	}
	if _, _, err := s.SetReading(ctx, Reading{ProjectID: p.ID, Voice: "v2"}); err != nil || ntakes(gs[1].ID) != 1 {
		t.Fatalf("a new voice: %d takes, %v", ntakes(gs[1].ID), err)
	}
	if _, _, err := s.NewTake(ctx, gs[2].ID, seeds(300)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SetReading(ctx, Reading{ProjectID: p.ID, Speed: 1.5}); err != nil || ntakes(gs[2].ID) != 1 {
		t.Fatalf("a new speed: %d takes, %v", ntakes(gs[2].ID), err)
	}
	// Deleting the project deletes its takes.
	if _, _, err := s.NewTake(ctx, gs[2].ID, seeds(301)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM takes`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d takes left after deleting the project (%v)", n, err)
	}
}
