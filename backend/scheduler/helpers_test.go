package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/render"
	"github.com/viettts-studio/studio/backend/scheduler"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/testengine"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// bundle is a running scheduler on a real store and render cache in dir, with test engines.
type bundle struct {
	st      *store.Store
	cache   *render.Cache
	pool    *inference.Pool
	bus     *events.Bus
	sched   *scheduler.Scheduler
	factory *testengine.Factory
	sub     *events.Subscription
}

type options struct {
	engine      testengine.Config
	size        int
	maxAttempts int
	noRun       bool
	noSync      bool
	rendersDir  string        // the render cache's folder (default dir/renders)
	dbDir       string        // the database's folder (default dir)
	spaceCheck  time.Duration // Config.SpaceCheck
}

func setup(t testing.TB, dir string, o options) *bundle {
	t.Helper()
	if o.size == 0 {
		o.size = 2
	}
	if o.dbDir == "" {
		o.dbDir = dir
	}
	st, err := store.Open(context.Background(), filepath.Join(o.dbDir, "studio.db"), store.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if o.rendersDir == "" {
		o.rendersDir = filepath.Join(dir, "renders")
	}
	cache, err := render.OpenWith(o.rendersDir, render.Options{NoSync: o.noSync})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{st: st, cache: cache, bus: events.NewBus(0), factory: testengine.NewFactory(o.engine)}
	b.pool = inference.NewPool(inference.PoolConfig{Factory: b.factory.New, Size: o.size, Reason: inference.Reason{Text: "test"},
		OnEvent: scheduler.PoolEvents(b.bus), Logger: quiet(), BuildBackoff: func(int) time.Duration { return time.Millisecond }})
	b.sched = scheduler.New(scheduler.Config{Store: st, Pool: b.pool, Cache: cache, Bus: b.bus, ModelID: "test-model",
		Pipeline: "test", MaxAttempts: o.maxAttempts, Backoff: func(int) time.Duration { return time.Millisecond },
		SpaceCheck: o.spaceCheck, Logger: quiet()})
	b.sub = b.bus.Subscribe()
	if !o.noRun {
		if _, err := b.sched.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(b.close)
	return b
}

func (b *bundle) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.sched.Stop(ctx)
	b.pool.Close(ctx)
	b.bus.Close()
	b.st.Close()
}

// project stores a project of chapters × per segments whose texts start with title.
func (b *bundle) project(t testing.TB, title string, chapters, per int) store.Project {
	t.Helper()
	np := store.NewProject{Title: title}
	for c := range chapters {
		ch := store.NewChapter{Title: fmt.Sprint("Chương ", c+1)}
		for i := range per {
			text := fmt.Sprintf("%s, chương %d, câu %d.", title, c+1, i+1)
			ch.Segments = append(ch.Segments, store.NewSegment{Source: text, Spoken: text, Voice: "nu", Speed: 1, Seed: uint64(i)})
		}
		np.Chapters = append(np.Chapters, ch)
	}
	p, err := b.sched.CreateProject(context.Background(), np)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitUntil reads events until cond holds (checked now and after every job event).
func (b *bundle) waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if cond() {
		return
	}
	for {
		ev, err := b.sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if _, ok := ev.(events.JobProgress); ok && cond() {
			return
		}
	}
}

func (b *bundle) jobState(t testing.TB, id int64) store.Job {
	t.Helper()
	j, err := b.st.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// checkIdentity proves that the render of every done segment is the audio of that segment.
func (b *bundle) checkIdentity(t testing.TB, segs []store.Segment) int {
	t.Helper()
	n := 0
	for _, g := range segs {
		if g.State != store.StateDone {
			continue
		}
		r, ok, err := b.st.RenderOf(context.Background(), g.RenderHash)
		if err != nil || !ok {
			t.Fatalf("segment %d is done without a render row (%v)", g.ID, err)
		}
		samples, err := b.cache.Load(r.Path)
		if err != nil {
			t.Fatalf("segment %d: %v", g.ID, err)
		}
		got, err := testengine.Decode(samples)
		if err != nil {
			t.Fatalf("segment %d: %v", g.ID, err)
		}
		want := testengine.Identity(inference.Request{Text: g.Spoken, Voice: g.Voice, Speed: g.Speed, Seed: g.Seed})
		if got != want {
			t.Fatalf("segment %d (%q) has the audio of another request: %x, want %x", g.ID, g.Spoken, got, want)
		}
		n++
	}
	return n
}

var ours = regexp.MustCompile(`studio/(backend/(scheduler|store|events|render)|inference)\.|database/sql\.\(\*DB\)\.connectionOpener`)

// noGoroutinesLeft fails when a goroutine of these packages is still running once things settle.
func noGoroutinesLeft(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if ours.MatchString(g) && !strings.Contains(g, "noGoroutinesLeft") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left running:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond) // settling; the deadline bounds it
	}
}
