package export

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Subtitles is a subtitle format written beside the audio.
type Subtitles string

// The subtitle formats; NoSubtitles writes none.
const (
	NoSubtitles Subtitles = ""
	SRT         Subtitles = "srt"
	WebVTT      Subtitles = "vtt"
)

// ParseSubtitles accepts "", "none", "srt", "vtt" and "webvtt".
func ParseSubtitles(s string) (Subtitles, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none", "off":
		return NoSubtitles, nil
	case "srt":
		return SRT, nil
	case "vtt", "webvtt":
		return WebVTT, nil
	}
	return "", fmt.Errorf("unknown subtitle format %q: use srt or vtt", s)
}

// cue is one subtitle: a segment's text and where its audio sits in the file, in seconds.
type cue struct {
	Start, End float64
	Text       string
}

// clock formats seconds as HH:MM:SS<sep>mmm.
func clock(sec float64, sep string) string {
	ms := int64(math.Round(sec * 1000))
	h, ms := ms/3600000, ms%3600000
	m, ms := ms/60000, ms%60000
	s, ms := ms/1000, ms%1000
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", h, m, s, sep, ms)
}

// writeSubtitles writes cues as SRT or WebVTT. Text lines are kept as they are (NFC already); blank
// lines inside a cue would end it early in both formats, so they are folded into spaces; WebVTT cue
// text escapes &, < and > as its specification asks.
func writeSubtitles(w io.Writer, format Subtitles, cues []cue) error {
	var b strings.Builder
	if format == WebVTT {
		b.WriteString("WEBVTT\n\n")
	}
	n := 0
	for _, c := range cues {
		text := strings.Join(strings.Fields(c.Text), " ")
		if text == "" {
			continue
		}
		n++
		switch format {
		case SRT:
			fmt.Fprintf(&b, "%d\n%s --> %s\n%s\n\n", n, clock(c.Start, ","), clock(c.End, ","), text)
		case WebVTT:
			text = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
			fmt.Fprintf(&b, "%d\n%s --> %s\n%s\n\n", n, clock(c.Start, "."), clock(c.End, "."), text)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
