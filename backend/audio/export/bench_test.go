package export

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/audio"
)

var benchHours = flag.Float64("audio.hours", 10, "hours of synthetic audio for BenchmarkExportMP3")

// voice is one period of a voiced buzz: harmonics 1, 2, 3 and 5 of the pitch.
var voice = func() []float32 {
	t := make([]float32, 1024)
	for i := range t {
		ph := 2 * math.Pi * float64(i) / float64(len(t))
		t[i] = float32(0.5*math.Sin(ph) + 0.25*math.Sin(2*ph) + 0.12*math.Sin(3*ph) + 0.06*math.Sin(5*ph))
	}
	return t
}()

// syntheticSegment makes speech-like audio on the fly: the voiced buzz at a gliding pitch under a
// syllable envelope, plus breath noise, different per segment and never stored.
func syntheticSegment(seed int, seconds float64) []float32 {
	n := int(seconds * audio.Rate)
	pcm := make([]float32, n)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	f0 := 110 + 60*rng.Float64()
	syl := 3.5 + rng.Float64()*2
	var phase float64 // in table entries
	for i := range pcm {
		t := float64(i) / audio.Rate
		if i%256 == 0 { // pitch glide and envelope change slowly: update them every 12 ms
			f := f0 * (1 + 0.08*math.Sin(2*math.Pi*0.7*t))
			phaseStep = f * float64(len(voice)) / audio.Rate
			envelope = math.Max(0, math.Sin(math.Pi*syl*t))
		}
		phase += phaseStep
		if phase >= float64(len(voice)) {
			phase -= float64(len(voice))
		}
		noise := float64(int32(rng.Uint32())) / (1 << 31)
		pcm[i] = float32(0.3*envelope*float64(voice[int(phase)]) + 0.01*noise)
	}
	return pcm
}

var phaseStep, envelope float64

// BenchmarkExportMP3 assembles, measures, normalizes (ACX), limits, resamples to 44.1 kHz and
// encodes to MP3 a book of -audio.hours hours (default 10) whose 10-second segments are generated
// on the fly. It reports the peak Go heap while exporting.
//
//	go test -run '^$' -bench ExportMP3 -benchtime 1x ./backend/audio/export/
func BenchmarkExportMP3(b *testing.B) {
	if fi, _ := Info(MP3); !fi.Available {
		b.Skip(fi.Reason)
	}
	const segSeconds = 10.0
	segments := int(*benchHours * 3600 / segSeconds)
	book := &audio.Book{Title: "Benchmark"}
	for i := range segments {
		if i%60 == 0 {
			book.Chapters = append(book.Chapters, audio.Chapter{Title: fmt.Sprintf("Chương %d", len(book.Chapters)+1)})
		}
		c := &book.Chapters[len(book.Chapters)-1]
		c.Segments = append(c.Segments, audio.Segment{ID: fmt.Sprint(i), Text: "câu",
			Audio: audio.SourceFunc(func(context.Context) ([]float32, error) { return syntheticSegment(i, segSeconds), nil })})
	}
	for b.Loop() {
		dir := b.TempDir()
		peak, stop := watchHeap()
		start := time.Now()
		res, err := Export(b.Context(), book, filepath.Join(dir, "book.mp3"), Options{Format: MP3, Bitrate: 64, Loudness: audio.PresetACX})
		stop()
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		audioSec := res.Timeline.Seconds()
		b.ReportMetric(audioSec/3600, "audio-hours")
		b.ReportMetric(audioSec/took.Seconds(), "x-realtime")
		b.ReportMetric(float64(*peak)/(1<<20), "peak-heap-MiB")
		b.Logf("%.2f h of audio in %v (%.0f× real time), peak heap %.1f MiB, measured %.1f LUFS → %.1f LUFS, limited %.1f s",
			audioSec/3600, took.Round(time.Second), audioSec/took.Seconds(), float64(*peak)/(1<<20), res.Measured, res.Output, res.LimitedSeconds)
	}
}

// watchHeap samples the live heap every 50 ms until stop is called.
func watchHeap() (*uint64, func()) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	runtime.GC()
	return &peak, func() { close(done); wg.Wait() }
}

// BenchmarkExportFormats exports the same 6 minutes of synthetic speech (36 segments of 10 s) to
// every available format with the ACX preset and the default bitrates, reporting the file size.
//
//	go test -run '^$' -bench ExportFormats -benchtime 1x ./backend/audio/export/
func BenchmarkExportFormats(b *testing.B) {
	book := &audio.Book{Title: "Benchmark", Chapters: []audio.Chapter{{Title: "Chương 1"}}}
	for i := range 36 {
		book.Chapters[0].Segments = append(book.Chapters[0].Segments, audio.Segment{ID: fmt.Sprint(i), Text: "câu",
			Audio: audio.SourceFunc(func(context.Context) ([]float32, error) { return syntheticSegment(i, 10), nil })})
	}
	for _, fi := range Formats() {
		if !fi.Available {
			continue
		}
		b.Run(string(fi.Format), func(b *testing.B) {
			var size int64
			var seconds float64
			for b.Loop() {
				res, err := Export(b.Context(), book, filepath.Join(b.TempDir(), "book"), Options{Format: fi.Format, Loudness: audio.PresetACX})
				if err != nil {
					b.Fatal(err)
				}
				st, err := os.Stat(res.Files[0].Path)
				if err != nil {
					b.Fatal(err)
				}
				size, seconds = st.Size(), res.Timeline.Seconds()
			}
			b.ReportMetric(float64(size)/1e6, "MB")
			b.ReportMetric(seconds*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
		})
	}
}
