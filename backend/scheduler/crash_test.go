package scheduler_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference/testengine"
)

// crashEnv makes the test binary run TestCrashChild: a scheduler on the database in that
// directory, printing "done <segment>" for every completed segment and "finished" at the end.
const crashEnv = "VIETTTS_SCHEDULER_CRASH_CHILD"

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process of TestCrashKilledSchedulerLosesNothing")
	}
	b := setup(t, dir, options{size: 2, engine: testengine.Config{Latency: 2 * time.Millisecond}})
	ctx := context.Background()
	allFinished := func() bool {
		jobs, err := b.st.Jobs(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs) == 0
	}
	for !allFinished() {
		ev, err := b.sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := ev.(events.SegmentDone); ok {
			fmt.Printf("done %d\n", e.SegmentID)
		}
	}
	fmt.Println("finished")
}

// doneRender is what a done segment must keep across crashes.
type doneRender struct {
	hash, sha string
}

// checkAfterCrash opens the database a killed scheduler left (as the next start would, before its
// recovery) and checks it: SQLite's integrity check passes; every done segment has its render row
// and a file with the recorded SHA-256; every segment done before is still done with the same
// render and file hash. It returns the done segments.
func checkAfterCrash(t *testing.T, dir string, before map[int64]doneRender) map[int64]doneRender {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(dir, "studio.db"), store.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	segs, err := st.Segments(ctx, store.SegmentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	now := map[int64]doneRender{}
	for _, g := range segs {
		if g.State != store.StateDone {
			continue
		}
		r, ok, err := st.RenderOf(ctx, g.RenderHash)
		if err != nil || !ok {
			t.Fatalf("segment %d is done without a render row (%v)", g.ID, err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "renders", r.Path))
		if err != nil {
			t.Fatalf("segment %d: render file: %v", g.ID, err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != r.SHA256 {
			t.Fatalf("segment %d: render file does not match its recorded hash", g.ID)
		}
		now[g.ID] = doneRender{hash: g.RenderHash, sha: r.SHA256}
	}
	for id, d := range before {
		if now[id] != d {
			t.Fatalf("segment %d was done with %+v, now %+v", id, d, now[id])
		}
	}
	return now
}

// TestCrashKilledSchedulerLosesNothing kills a scheduler process with SIGKILL at random points
// (after a random number of completions, so anywhere in claiming, rendering, writing files and
// committing) at least ten times, restarting it each time.
func TestCrashKilledSchedulerLosesNothing(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the helper process")
	}
	dir := t.TempDir()
	ctx := t.Context()
	{
		b := setup(t, dir, options{noRun: true})
		for i := range 6 {
			p := b.project(t, fmt.Sprint("Sách ", i), 2, 25)
			if _, err := b.st.EnqueueJob(ctx, store.JobSpec{ProjectID: p.ID}); err != nil {
				t.Fatal(err)
			}
		}
		b.close()
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	printed := map[int64]int{}
	run := func(killAfter int) (finished bool) {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		done := 0
		for sc.Scan() {
			line := sc.Text()
			if line == "finished" {
				finished = true
				continue
			}
			var id int64
			if _, err := fmt.Sscanf(line, "done %d", &id); err != nil {
				continue // the test binary's own output
			}
			printed[id]++
			if done++; killAfter > 0 && done == killAfter {
				cmd.Process.Kill() // SIGKILL
				break
			}
		}
		err = cmd.Wait()
		if killAfter == 0 && err != nil {
			t.Fatalf("final run: %v", err)
		}
		return finished
	}
	var state map[int64]doneRender
	kills := 0
	for kills < 10 {
		if run(1 + rng.IntN(20)) {
			t.Fatalf("the work finished after %d kills; give it more segments", kills)
		}
		kills++
		state = checkAfterCrash(t, dir, state)
	}
	if !run(0) {
		t.Fatal("the final run did not finish")
	}
	state = checkAfterCrash(t, dir, state)

	b := setup(t, dir, options{noRun: true})
	segs, _ := b.st.Segments(ctx, store.SegmentQuery{})
	if n := b.checkIdentity(t, segs); n != len(segs) || n != 300 {
		t.Fatalf("%d of %d segments done", n, len(segs))
	}
	for id, n := range printed {
		if n > 1 {
			t.Fatalf("segment %d was completed %d times", id, n)
		}
	}
	jobs, _ := b.st.Jobs(ctx, false)
	for _, j := range jobs {
		if j.State != store.StateDone || j.Done != j.Total {
			t.Fatalf("job %+v", j)
		}
	}
	renders, _ := b.st.Renders(ctx)
	var files []string
	filepath.WalkDir(b.cache.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(renders) != 300 || len(files) != 300 {
		t.Fatalf("%d render rows and %d files for 300 segments: %s", len(renders), len(files), strings.Join(files, " "))
	}
	t.Logf("%d kills, %d completions printed", kills, len(printed))
}
