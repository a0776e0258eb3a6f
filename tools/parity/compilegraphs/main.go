// Command compilegraphs compiles reference checkpoints into the app's ONNX graphs for the parity
// scripts of tools/parity: it reads a .pt state dict with the app's own reader (package
// checkpoint), checks it against the compiler's specs, and writes the graphs with the app's own
// compiler, exactly as `viettts-studio model install` would.
//
//	go run ./tools/parity/compilegraphs -llm /tmp/parity/llm.pt -dims dims.json -out /tmp/parity/graphs [-fp16]
//	go run ./tools/parity/compilegraphs -print-dims full
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/viettts-studio/studio/inference/checkpoint"
	"github.com/viettts-studio/studio/inference/compiler"
)

func main() {
	llmPath := flag.String("llm", "", "llm.pt to compile into llm_prefill.onnx and llm_decode.onnx")
	dimsPath := flag.String("dims", "", "JSON file with the model dimensions (compiler.Dims); default: the full VietTTS dims")
	outDir := flag.String("out", "", "folder for the .onnx files")
	fp16 := flag.Bool("fp16", false, "also write the half-precision variants (*.fp16.onnx)")
	printDims := flag.String("print-dims", "", "print the JSON of a dims preset (full or tiny) and exit")
	posTable := flag.String("pos-table", "", "also write the LLM's relative positional table (max_positions × model float32, little-endian) to this file")
	flag.Parse()
	if *printDims != "" {
		d, err := compiler.Preset(*printDims)
		if err == nil {
			var raw []byte
			raw, err = d.MarshalIndent()
			fmt.Println(string(raw))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "compilegraphs:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*llmPath, *dimsPath, *outDir, *posTable, *fp16); err != nil {
		fmt.Fprintln(os.Stderr, "compilegraphs:", err)
		os.Exit(1)
	}
}

func run(llmPath, dimsPath, outDir, posTable string, fp16 bool) error {
	if llmPath == "" && posTable == "" || llmPath != "" && outDir == "" {
		return fmt.Errorf("give -llm and -out, or -pos-table")
	}
	d := compiler.FullDims()
	if dimsPath != "" {
		raw, err := os.ReadFile(dimsPath)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("%s: %w", dimsPath, err)
		}
	}
	if err := d.Validate(); err != nil {
		return err
	}
	if posTable != "" {
		table := compiler.RelPositionTable(d.LLM.Model, d.LLM.MaxPositions)
		raw := make([]byte, 0, 4*len(table))
		for _, v := range table {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		if err := os.WriteFile(posTable, raw, 0o644); err != nil {
			return err
		}
		if llmPath == "" {
			return nil
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	sd, err := checkpoint.Open(llmPath)
	if err != nil {
		return err
	}
	defer sd.Close()
	if err := compiler.CheckSpecs(sd, compiler.LLMSpecs(d)); err != nil {
		return err
	}
	type job struct {
		file  string
		write func(io.Writer) (int64, error)
	}
	jobs := []job{
		{"llm_prefill.onnx", func(w io.Writer) (int64, error) { return compiler.WriteLLMPrefill(w, sd, d, false) }},
		{"llm_decode.onnx", func(w io.Writer) (int64, error) { return compiler.WriteLLMDecode(w, sd, d, false) }},
	}
	if fp16 {
		jobs = append(jobs,
			job{"llm_prefill.fp16.onnx", func(w io.Writer) (int64, error) { return compiler.WriteLLMPrefill(w, sd, d, true) }},
			job{"llm_decode.fp16.onnx", func(w io.Writer) (int64, error) { return compiler.WriteLLMDecode(w, sd, d, true) }})
	}
	for _, j := range jobs {
		start := time.Now()
		path := filepath.Join(outDir, j.file)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		n, err := j.write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", j.file, err)
		}
		slog.Info("wrote graph", "file", path, "MB", n>>20, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
