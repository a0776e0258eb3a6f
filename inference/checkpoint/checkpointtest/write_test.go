package checkpointtest

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/viettts-studio/studio/inference/checkpoint"
)

type mapTensors struct {
	keys   []string
	data   map[string][]float32
	shapes map[string][]int
}

func (m mapTensors) Keys() []string { return m.keys }
func (m mapTensors) Float32(name string) ([]float32, []int, error) {
	return m.data[name], m.shapes[name], nil
}

func TestWrittenCheckpointsReadBack(t *testing.T) {
	src := mapTensors{
		keys:   []string{"a.weight", "a.bias", "scalar"},
		data:   map[string][]float32{"a.weight": {1, 2, 3, 4, 5, 6}, "a.bias": {-1.5, 2.25}, "scalar": {7}},
		shapes: map[string][]int{"a.weight": {2, 3}, "a.bias": {2}, "scalar": {}},
	}
	path := filepath.Join(t.TempDir(), "llm.pt")
	if err := Write(path, src); err != nil {
		t.Fatal(err)
	}
	sd, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	if !slices.Equal(sd.Keys(), src.keys) {
		t.Fatalf("keys %v", sd.Keys())
	}
	for _, k := range src.keys {
		data, shape, err := sd.Float32(k)
		if err != nil || !slices.Equal(data, src.data[k]) || !slices.Equal(shape, src.shapes[k]) {
			t.Fatalf("%s: %v %v %v", k, data, shape, err)
		}
	}
}
