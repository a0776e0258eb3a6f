package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/render"
	"github.com/viettts-studio/studio/backend/scheduler"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/testengine"
)

// A document is stored, queued, rendered by a pool of two instances, and followed through events.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "scheduler-example")
	defer os.RemoveAll(dir)

	st, _ := store.Open(ctx, filepath.Join(dir, "studio.db"), store.Options{Logger: quiet()})
	defer st.Close()
	cache, _ := render.Open(filepath.Join(dir, "renders"))
	bus := events.NewBus(0)
	defer bus.Close()
	size, _, _ := inference.ResolveSize("default", inference.Hardware{CUDA: true})
	pool := inference.NewPool(inference.PoolConfig{Factory: testengine.NewFactory(testengine.Config{}).New,
		Size: size, OnEvent: scheduler.PoolEvents(bus), Logger: quiet()})
	defer pool.Close(ctx)
	s := scheduler.New(scheduler.Config{Store: st, Pool: pool, Cache: cache, Bus: bus, ModelID: "viettts", Pipeline: "1", Logger: quiet()})
	sub := s.Subscribe()
	if _, err := s.Run(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer s.Stop(ctx)

	p, _ := s.CreateProject(ctx, store.NewProject{Title: "Thư", Chapters: []store.NewChapter{{Segments: []store.NewSegment{
		{Source: "Chào bạn.", Spoken: "chào bạn", Voice: "nu"},
		{Source: "Hẹn gặp lại.", Spoken: "hẹn gặp lại", Voice: "nu"},
	}}}})
	job, _ := s.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if e, ok := ev.(events.JobProgress); ok && e.JobID == job.ID && e.State == string(store.StateDone) {
			fmt.Printf("job %s: %d/%d segments\n", e.State, e.Done, e.Total)
			return
		}
	}
	// Output: job done: 2/2 segments
}
