package scheduler_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference/testengine"
)

// BenchmarkSchedulerOverhead measures the whole cost the scheduler adds to one segment: claim,
// render file (written, synced, renamed), completion, events, with an engine that takes no time.
// ns/op is wall time per segment; cpu-ns/seg the CPU time the process spent per segment (all
// goroutines, SQLite included), which a loaded machine does not inflate. sync=false skips the render file syncs, to separate the scheduler's own
// cost from the disk's (BenchmarkPut in backend/render measures the disk).
func BenchmarkSchedulerOverhead(b *testing.B) {
	for _, sync := range []bool{true, false} {
		for _, size := range []int{1, 2} {
			b.Run(fmt.Sprintf("sync=%v/instances=%d", sync, size), func(b *testing.B) {
				benchmarkOverhead(b, options{size: size, noSync: !sync})
			})
		}
	}
}

func benchmarkOverhead(b *testing.B, o options) {
	bd := setup(b, b.TempDir(), o)
	np := store.NewProject{Title: "bench", Chapters: []store.NewChapter{{}}}
	for i := range b.N {
		text := fmt.Sprintf("câu số %d", i)
		np.Chapters[0].Segments = append(np.Chapters[0].Segments, store.NewSegment{Source: text, Spoken: text, Voice: "v", Speed: 1})
	}
	p, err := bd.sched.CreateProject(b.Context(), np)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	j, err := bd.sched.Enqueue(b.Context(), store.JobSpec{ProjectID: p.ID})
	if err != nil {
		b.Fatal(err)
	}
	bd.waitUntil(b, "job done", finished(bd, b, j.ID))
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/seg")
	if jj := bd.jobState(b, j.ID); jj.Done != b.N {
		b.Fatalf("job %+v", jj)
	}
}

// cpuTime is the user and system CPU time of the process so far. On a shared machine it measures
// the scheduler's cost better than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSchedulerThroughput runs a 100-segment job through the whole scheduler with an engine
// of a fixed 50 ms per segment (a real one takes about 1 s), on 1 and then 2 instances in the same run, and reports segments
// per second for each and their ratio: the scheduler must not serialize the instances.
func BenchmarkSchedulerThroughput(b *testing.B) {
	const segments = 100
	run := func(size int) float64 {
		bd := setup(b, b.TempDir(), options{size: size, engine: testengine.Config{Latency: 50 * time.Millisecond}})
		defer bd.close()
		np := store.NewProject{Title: "bench", Chapters: []store.NewChapter{{}}}
		for i := range segments {
			text := fmt.Sprintf("câu số %d", i)
			np.Chapters[0].Segments = append(np.Chapters[0].Segments, store.NewSegment{Source: text, Spoken: text, Voice: "v", Speed: 1})
		}
		p, err := bd.sched.CreateProject(b.Context(), np)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		j, err := bd.sched.Enqueue(b.Context(), store.JobSpec{ProjectID: p.ID})
		if err != nil {
			b.Fatal(err)
		}
		bd.waitUntil(b, "job done", finished(bd, b, j.ID))
		return segments / time.Since(start).Seconds()
	}
	var one, two float64
	for b.Loop() {
		one = run(1)
		two = run(2)
	}
	b.ReportMetric(one, "seg/s-1inst")
	b.ReportMetric(two, "seg/s-2inst")
	b.ReportMetric(two/one, "ratio")
}
