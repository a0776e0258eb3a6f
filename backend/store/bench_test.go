package store

import (
	"fmt"
	"testing"
)

// BenchmarkClaimComplete measures the queue's cost per segment: one claim transaction and one
// completion transaction (render row, segment, job counters), in a job of b.N segments.
func BenchmarkClaimComplete(b *testing.B) {
	s, err := Open(b.Context(), b.TempDir()+"/bench.db", Options{Logger: discard()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	np := NewProject{Title: "bench", Chapters: []NewChapter{{}}}
	for i := range b.N {
		text := fmt.Sprint("câu ", i)
		np.Chapters[0].Segments = append(np.Chapters[0].Segments, NewSegment{Source: text, Spoken: text, Voice: "v"})
	}
	p, err := s.CreateProject(b.Context(), np)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.EnqueueJob(b.Context(), JobSpec{ProjectID: p.ID}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		c, ok, _, err := s.ClaimNext(b.Context())
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if _, err := s.Complete(b.Context(), c.Segment.ID, c.Lease, fakeRender(int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}
