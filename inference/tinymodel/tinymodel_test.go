package tinymodel

import (
	"testing"

	"github.com/viettts-studio/studio/inference/bundle"
)

func TestSharedBuildsAVerifiedBundleWithVoices(t *testing.T) {
	dir, err := Shared(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := bundle.Verify(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := bundle.Open(dir)
	if len(b.Manifest.Voices) != 2 || b.TokenizerPath() == "" || !b.Manifest.Random {
		t.Fatalf("manifest %+v", b.Manifest)
	}
}
