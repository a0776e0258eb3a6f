package player

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/audio"
)

// The speaker can be opened once per process, so each scenario that opens it runs in a child
// process: the test binary re-executed with PLAYER_CHILD naming the scenario and HOME pointing
// at a folder whose .asoundrc sets up ALSA.
const childEnv = "VIETTTS_PLAYER_CHILD"

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		if err := children[name](); err != nil {
			fmt.Fprintln(os.Stderr, "CHILD ERROR:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var children = map[string]func() error{
	"record":     childRecord,
	"no-device":  childNoDevice,
	"no-pulling": childNoPulling,
}

// runChild runs scenario name with HOME=home and returns its combined output.
func runChild(t *testing.T, name, home string) (string, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, "HOME="+home, "PLAYER_HOME="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tone is a segment whose every sample is non-zero after 16-bit conversion, different per seed.
func tone(seed, n int) []float32 {
	pcm := make([]float32, n)
	for i := range pcm {
		pcm[i] = float32(0.05 + 0.4*math.Abs(math.Sin(2*math.Pi*float64(200+100*seed)*float64(i)/audio.Rate)))
	}
	return pcm
}

// speakerInt16 is what beep's speaker sends for a sample: int16(v·32767), truncated.
func speakerInt16(v float32) int16 { return int16(float64(v) * (1<<15 - 1)) }

func nonZero(xs []int16) []int16 {
	var out []int16
	for _, x := range xs {
		if x != 0 {
			out = append(out, x)
		}
	}
	return out
}

const recordRC = `pcm.!default {
	type file
	slave.pcm "null"
	file "%s"
	format "raw"
}
`

// TestPlaybackRecordedThroughALSAEqualsTheAudio plays through a real ALSA device, the file plugin,
// which records what the speaker writes. The child plays from segment 1 ("play from this
// sentence"), reaches segment 2, which is still being synthesized, pauses there, seeks back to
// segment 0, lets segment 2 finish, resumes and plays to the end. The recording, silences removed,
// must be exactly segment 1, then segments 0 to 3.
func TestPlaybackRecordedThroughALSAEqualsTheAudio(t *testing.T) {
	home := t.TempDir()
	rec := filepath.Join(home, "played.raw")
	if err := os.WriteFile(filepath.Join(home, ".asoundrc"), fmt.Appendf(nil, recordRC, rec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runChild(t, "record", home)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
	raw, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	// oto hands ALSA float32 stereo frames: int16/32768 from beep's speaker.
	var left []int16
	for i := 0; i+8 <= len(raw); i += 8 {
		l := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
		r := math.Float32frombits(binary.LittleEndian.Uint32(raw[i+4:]))
		if l != r {
			t.Fatalf("frame %d: left %v right %v; mono audio must be on both channels", i/8, l, r)
		}
		left = append(left, int16(l*32768))
	}
	var want []int16
	for _, seg := range []int{1, 0, 1, 2, 3} {
		for _, v := range tone(seg, segLen(seg)) {
			want = append(want, speakerInt16(v))
		}
	}
	got := nonZero(left)
	if len(got) != len(want) {
		t.Fatalf("recorded %d non-silent samples, want %d (segment 1, then 0-3)", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("recorded sample %d is %d, want %d", i, got[i], want[i])
		}
	}
}

func segLen(seg int) int { return audio.Rate/4 + seg*1000 }

func childRecord() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := make(chan Event, 1024)
	p := New(Options{OnEvent: func(e Event) { events <- e }})
	gate := make(chan struct{})
	var items []Item
	for seg := range 4 {
		pcm := tone(seg, segLen(seg))
		src := audio.SourceFunc(func(ctx context.Context) ([]float32, error) {
			if seg == 2 { // still being synthesized until the gate opens
				select {
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return pcm, nil
		})
		items = append(items, Item{ID: fmt.Sprintf("s%d", seg), Audio: src, Pause: 50 * time.Millisecond})
	}
	if err := p.Open(); err != nil {
		return err
	}
	defer p.Close()
	p.Load(items)
	wait := func(kind EventKind, index int) error {
		for {
			select {
			case e := <-events:
				fmt.Printf("event %s %d %s\n", e.Kind, e.Index, e.ID)
				if e.Kind == kind && e.Index == index {
					return nil
				}
			case <-ctx.Done():
				return fmt.Errorf("no %s event for item %d: %w", kind, index, ctx.Err())
			}
		}
	}
	if err := p.Play(1); err != nil {
		return err
	}
	if err := wait(Waiting, 2); err != nil {
		return err
	}
	p.Pause()
	if err := p.Seek(0, 0); err != nil {
		return err
	}
	close(gate)
	p.Resume()
	if err := wait(Ended, 4); err != nil {
		return err
	}
	if err := p.Drain(ctx); err != nil {
		return err
	}
	// Everything the streamer produced went to the device before Close returns.
	return p.Close()
}

func childNoDevice() error {
	p := New(Options{})
	defer p.Close()
	err := p.Open()
	fmt.Println("open:", err)
	if !errors.Is(err, ErrNoDevice) {
		return fmt.Errorf("Open returned %v, want ErrNoDevice", err)
	}
	return nil
}

// childNoPulling skips the ALSA probe, so beep's speaker.Init "succeeds" on a missing device and
// only the start watchdog stands between the user and a silent hang.
func childNoPulling() error {
	p := New(Options{StartTimeout: 500 * time.Millisecond})
	p.probe = nil
	defer p.Close()
	err := p.Open()
	fmt.Println("open:", err)
	if !errors.Is(err, ErrNoDevice) {
		return fmt.Errorf("Open returned %v, want ErrNoDevice", err)
	}
	return nil
}

const missingRC = `pcm.!default { type hw; card 57 }
ctl.!default { type hw; card 57 }
`

func TestNoSoundDeviceGivesClearError(t *testing.T) {
	for _, name := range []string{"no-device", "no-pulling"} {
		t.Run(name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(missingRC), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := runChild(t, name, home)
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(out, "no sound device") {
				t.Fatalf("error does not say there is no sound device:\n%s", out)
			}
			t.Log(strings.TrimSpace(out))
		})
	}
}

func loaded(p *Player, pcm []float32) {
	p.Load([]Item{{ID: "a", Audio: audio.SourceFunc(func(context.Context) ([]float32, error) { return pcm, nil })}})
	p.cache[0] = pcm // as the loader would
}

func TestVolumeScalesTheSamples(t *testing.T) {
	p := New(Options{})
	pcm := tone(1, 1000)
	loaded(p, pcm)
	if err := p.SetVolume(0.5); err != nil {
		t.Fatal(err)
	}
	if err := p.Play(0); err != nil {
		t.Fatal(err)
	}
	out := make([][2]float64, 400)
	streamer{p}.Stream(out)
	for i, s := range out {
		if want := 0.5 * float64(pcm[i]); s[0] != want || s[1] != want {
			t.Fatalf("sample %d: %v, want %v on both channels", i, s, want)
		}
	}
	if p.SetRate(3) == nil || p.SetVolume(-1) == nil || p.SetRate(0.4) == nil {
		t.Fatal("out-of-range rate or volume accepted")
	}
}

// crossings counts upward zero crossings per second.
func crossings(x []float64) float64 {
	n := 0
	for i := 1; i < len(x); i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			n++
		}
	}
	return float64(n) / (float64(len(x)) / audio.Rate)
}

func TestRateChangesSpeedButNotPitch(t *testing.T) {
	for _, rate := range []float64{0.5, 0.75, 1.5, 2} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			p := New(Options{})
			pcm := make([]float32, 3*audio.Rate)
			for i := range pcm {
				pcm[i] = float32(0.5 * math.Sin(2*math.Pi*220*float64(i)/audio.Rate))
			}
			loaded(p, pcm)
			if err := p.SetRate(rate); err != nil {
				t.Fatal(err)
			}
			if err := p.Play(0); err != nil {
				t.Fatal(err)
			}
			out := make([][2]float64, audio.Rate) // one second of output
			streamer{p}.Stream(out)
			left := make([]float64, len(out))
			for i, s := range out {
				left[i] = s[0]
			}
			consumed := p.State().Offset.Seconds()
			if math.Abs(consumed-rate) > 0.03 {
				t.Errorf("one second of output consumed %.3f s of audio, want %.2f", consumed, rate)
			}
			// Skip the first frame (the fade in of the overlap-add).
			if f := crossings(left[2000:]); math.Abs(f-220) > 5 {
				t.Errorf("pitch %.0f Hz after stretching, want 220 Hz", f)
			}
			var e float64
			for _, v := range left[2000:] {
				e += v * v
			}
			if rms := math.Sqrt(e / float64(len(left)-2000)); math.Abs(rms-0.3536) > 0.05 {
				t.Errorf("RMS %.3f, want about 0.354 (the sine's)", rms)
			}
		})
	}
}

func TestEventsWaitUntilTheAudioReachesTheSpeaker(t *testing.T) {
	p := New(Options{Buffer: 100 * time.Millisecond})
	loaded(p, tone(0, 10000))
	if err := p.Play(0); err != nil { // the Segment event belongs to output sample 0
		t.Fatal(err)
	}
	out := make([][2]float64, 1000)
	streamer{p}.Stream(out)
	if ready, pending, _ := p.due(); len(ready) != 0 || !pending {
		t.Fatalf("after 1000 samples (45 ms) %d events are due; the speaker's 100 ms buffer has not played them yet", len(ready))
	}
	streamer{p}.Stream(out)
	streamer{p}.Stream(out)
	ready, _, _ := p.due()
	if len(ready) == 0 || ready[0].Kind != Segment || ready[0].Index != 0 {
		t.Fatalf("after 3000 samples the segment event is not due: %+v", ready)
	}
}
