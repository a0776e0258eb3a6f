package studio

import (
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/home"
)

// A new take of one sentence renders only it with another seed; going back to the first take
// plays the first audio again without a synthesis.
func TestTakesOfASentence(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, f := open(t)
	imp, err := s.Import(t.Context(), writeDoc(t), ImportOptions{Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := segments(t, s, imp.Project.ID)
	g := before[1]
	if tk, err := s.Takes(t.Context(), g.ID); err != nil || tk != (Takes{SegmentID: g.ID, Count: 1, Current: 0}) {
		t.Fatalf("takes before: %+v %v", tk, err)
	}
	calls := f.Calls()
	tk, err := s.NewTake(t.Context(), g.ID)
	if err != nil || tk.Count != 2 || tk.Current != 1 {
		t.Fatalf("new take: %+v %v", tk, err)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls() - calls; n != 1 {
		t.Fatalf("a new take ran %d syntheses", n)
	}
	after := segments(t, s, imp.Project.ID)
	if after[1].Seed == g.Seed || after[1].RenderHash == g.RenderHash || after[1].State != "done" || !sameSegments(before[2:], after[2:]) {
		t.Fatalf("after the new take: %+v", after[1])
	}

	calls = f.Calls()
	tk, err = s.UseTake(t.Context(), g.ID, 0)
	if err != nil || tk.Count != 2 || tk.Current != 0 {
		t.Fatalf("use take 1: %+v %v", tk, err)
	}
	back := segments(t, s, imp.Project.ID)
	if back[1].Seed != g.Seed || back[1].RenderHash != g.RenderHash || back[1].State != "done" || f.Calls() != calls {
		t.Fatalf("back on the first take: %+v, %d syntheses", back[1], f.Calls()-calls)
	}
	if _, err := s.UseTake(t.Context(), g.ID, 2); err == nil || !strings.Contains(err.Error(), "from 1 to 2") {
		t.Fatalf("take 3 of 2: %v", err)
	}
}
