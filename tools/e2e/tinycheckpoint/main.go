// Command tinycheckpoint writes the published VietTTS file set at the tiny test dimensions: llm.pt,
// flow.pt and hift.pt in the PyTorch format (random weights), config.yaml and a two-entry
// tokenizer. The end-to-end tests install the model from it, as a user installs from a folder,
// and rebuild from it after making the bundle outdated.
//
//	go run ./tools/e2e/tinycheckpoint -out DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/viettts-studio/studio/inference/tinymodel"
)

func main() {
	out := flag.String("out", "", "folder to write the checkpoint files to")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "tinycheckpoint: -out DIR is required")
		os.Exit(2)
	}
	if err := tinymodel.WriteCheckpoint(*out); err != nil {
		fmt.Fprintf(os.Stderr, "tinycheckpoint: %v\n", err)
		os.Exit(1)
	}
}
