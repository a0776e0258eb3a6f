package render

import (
	"fmt"
	"testing"
)

// BenchmarkPut measures writing one new 1-second render (temp file, sync, rename, directory sync).
func BenchmarkPut(b *testing.B) {
	c, _ := Open(b.TempDir())
	s := samples(22050)
	i := 0
	for b.Loop() {
		i++
		if _, err := c.Put(KeyOf(Inputs{Text: fmt.Sprint(i)}), s); err != nil {
			b.Fatal(err)
		}
	}
}
