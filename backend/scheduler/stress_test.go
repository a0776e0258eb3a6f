package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/store"
)

// intent is what the commands that succeeded on one job imply about its final state.
type intent struct {
	mu       sync.Mutex // held while a command runs and is recorded, so the record has the store's order
	canceled bool
	paused   bool // the last successful pause/resume was a pause
}

// TestStressManySubmittersAndCommands: 50 goroutines submit 200 documents (2,200 segments) while
// others pause, resume, cancel and reprioritise jobs at random. Every job must end in the state
// its commands imply, every done segment must carry its own audio, every segment must be completed
// once, and no goroutine may be left.
func TestStressManySubmittersAndCommands(t *testing.T) {
	const (
		submitters   = 40
		docsEach     = 5
		segmentsEach = 11
		commanders   = 10
		commandsEach = 60
	)
	b := setup(t, t.TempDir(), options{size: 2})
	ctx := t.Context()

	// Count every SegmentDone event: each segment must be completed exactly once.
	var doneMu sync.Mutex
	doneEvents := map[int64]int{}
	jobEvents := make(chan struct{}, 1)
	sub := b.bus.Subscribe()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			ev, err := sub.Next(context.Background())
			if err != nil {
				return
			}
			switch e := ev.(type) {
			case events.SegmentDone:
				doneMu.Lock()
				doneEvents[e.SegmentID]++
				doneMu.Unlock()
			case events.JobProgress:
				select {
				case jobEvents <- struct{}{}:
				default:
				}
			}
		}
	}()

	var jobsMu sync.Mutex
	var jobs []int64
	intents := map[int64]*intent{}
	var wg sync.WaitGroup
	errs := make(chan error, submitters+commanders)
	submitted := make(chan struct{})
	var subWG sync.WaitGroup
	for g := range submitters {
		subWG.Add(1)
		wg.Go(func() {
			defer subWG.Done()
			for d := range docsEach {
				np := store.NewProject{Title: fmt.Sprintf("doc %d-%d", g, d), Chapters: []store.NewChapter{{}}}
				for i := range segmentsEach {
					text := fmt.Sprintf("Tài liệu %d-%d, câu %d.", g, d, i)
					np.Chapters[0].Segments = append(np.Chapters[0].Segments, store.NewSegment{Source: text, Spoken: text, Voice: "nu", Speed: 1, Seed: uint64(i)})
				}
				p, err := b.sched.CreateProject(ctx, np)
				if err != nil {
					errs <- err
					return
				}
				j, err := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
				if err != nil {
					errs <- err
					return
				}
				jobsMu.Lock()
				jobs = append(jobs, j.ID)
				intents[j.ID] = &intent{}
				jobsMu.Unlock()
			}
		})
	}
	go func() { subWG.Wait(); close(submitted) }()
	for c := range commanders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for n := 0; n < commandsEach; n++ {
				jobsMu.Lock()
				if len(jobs) == 0 {
					jobsMu.Unlock()
					n--
					select {
					case <-submitted:
						return
					case <-jobEvents:
					}
					continue
				}
				id := jobs[rng.IntN(len(jobs))]
				in := intents[id]
				jobsMu.Unlock()
				in.mu.Lock()
				var err error
				switch op := rng.IntN(10); {
				case op < 3:
					if err = b.sched.PauseJob(ctx, id); err == nil {
						in.paused = true
					}
				case op < 7:
					if err = b.sched.ResumeJob(ctx, id); err == nil {
						in.paused = false
					}
				case op < 8:
					if err = b.sched.CancelJob(ctx, id); err == nil {
						in.canceled = true
					}
				case op < 9:
					if rng.IntN(2) == 0 {
						err = b.sched.SetJobPriority(ctx, id, rng.IntN(3)*50)
						break
					}
					// Pause one of its segments and resume it: no lasting effect, but it
					// races with claims and completions.
					segs, serr := b.sched.Segments(ctx, store.SegmentQuery{JobID: id})
					if serr != nil || len(segs) == 0 {
						err = serr
						break
					}
					g := segs[rng.IntN(len(segs))]
					if perr := b.sched.PauseSegment(ctx, g.ID); perr == nil {
						err = b.sched.ResumeSegment(ctx, g.ID)
					} else if !errors.Is(perr, store.ErrWrongState) {
						err = perr
					}
				default:
					jobsMu.Lock()
					before := jobs[rng.IntN(len(jobs))]
					jobsMu.Unlock()
					if before != id {
						err = b.sched.MoveJob(ctx, id, before)
					}
				}
				in.mu.Unlock()
				if err != nil && !errors.Is(err, store.ErrJobFinished) {
					errs <- fmt.Errorf("command on job %d: %w", id, err)
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
	if len(jobs) != submitters*docsEach {
		t.Fatalf("%d jobs submitted", len(jobs))
	}

	expect := func(id int64) store.State {
		in := intents[id]
		switch {
		case in.canceled:
			return store.StateCanceled
		case in.paused:
			return store.StatePaused
		}
		return store.StateDone
	}
	settled := func() bool {
		all, err := b.st.Jobs(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range all {
			if j.Running > 0 || j.State != expect(j.ID) {
				return false
			}
		}
		return true
	}
	waitJobs := func(what string) {
		deadline := time.After(5 * time.Minute) // generous: the machine may be shared
		last := time.Now()
		for !settled() {
			// Recounting 200 jobs after every event would starve the scheduler of CPU: look
			// at most every 200 ms (throttling only; the wait itself is on job events).
			if d := 200*time.Millisecond - time.Since(last); d > 0 {
				time.Sleep(d)
			}
			last = time.Now()
			select {
			case <-jobEvents:
			case <-deadline:
				all, _ := b.st.Jobs(ctx, false)
				for _, j := range all {
					if j.Running > 0 || j.State != expect(j.ID) {
						t.Errorf("job %d: %s (%+v), expected %s", j.ID, j.State, j.Counts, expect(j.ID))
					}
				}
				t.Fatalf("jobs did not settle: %s", what)
			}
		}
	}
	waitJobs("after the commands")
	paused := 0
	for _, id := range jobs {
		if intents[id].paused && !intents[id].canceled {
			paused++
			if err := b.sched.ResumeJob(ctx, id); err != nil {
				t.Fatal(err)
			}
			intents[id].paused = false
		}
	}
	waitJobs("after resuming the paused jobs")

	segs, err := b.st.Segments(ctx, store.SegmentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != submitters*docsEach*segmentsEach {
		t.Fatalf("%d segments", len(segs))
	}
	done := b.checkIdentity(t, segs)
	canceled := 0
	for _, g := range segs {
		switch g.State {
		case store.StateDone:
		case store.StateCanceled:
			canceled++
			if !intents[g.JobID].canceled {
				t.Fatalf("segment %d canceled in a job that was not", g.ID)
			}
		default:
			t.Fatalf("segment %d left %s", g.ID, g.State)
		}
	}
	if err := b.st.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
	renders, _ := b.st.Renders(ctx)
	files, _ := filepath.Glob(filepath.Join(b.cache.Dir(), "*", "*"))
	if len(renders) != done || len(files) < done {
		t.Fatalf("%d done segments, %d render rows, %d files", done, len(renders), len(files))
	}
	b.close()
	<-readerDone
	doneMu.Lock()
	for _, g := range segs {
		want := 0
		if g.State == store.StateDone {
			want = 1
		}
		if doneEvents[g.ID] != want {
			t.Fatalf("segment %d (%s) completed %d times", g.ID, g.State, doneEvents[g.ID])
		}
	}
	doneMu.Unlock()
	if sub.Dropped() != 0 {
		t.Fatalf("%d events dropped", sub.Dropped())
	}
	t.Logf("%d jobs, %d segments: %d done, %d canceled; %d jobs were paused at the end of the commands; %d syntheses",
		len(jobs), len(segs), done, canceled, paused, b.factory.Calls())
	noGoroutinesLeft(t)
}
