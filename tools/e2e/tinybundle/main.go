// Command tinybundle writes the random-weight tiny model bundle (with two voices, the voice-cloning
// graphs and the tokenizer ranks) that the end-to-end tests install as the app's model.
//
//	go run ./tools/e2e/tinybundle -out DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/viettts-studio/studio/inference/tinymodel"
)

func main() {
	out := flag.String("out", "", "bundle folder to write")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "tinybundle: -out DIR is required")
		os.Exit(2)
	}
	if err := tinymodel.Build(context.Background(), *out, tinymodel.Options{}); err != nil {
		fmt.Fprintf(os.Stderr, "tinybundle: %v\n", err)
		os.Exit(1)
	}
}
