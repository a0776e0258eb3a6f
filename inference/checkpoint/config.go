package checkpoint

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Config holds the fields of VietTTS's config.yaml that the compiler checks against its
// dimensions. The file is hyperpyyaml (tags like !new: name Python classes); it is read as
// text, and only top-level `key: number` lines are taken, so nothing in it is ever executed.
type Config struct {
	SampleRate           int `json:"sample_rate"`
	TextEncoderInputSize int `json:"text_encoder_input_size"`
	LLMInputSize         int `json:"llm_input_size"`
	LLMOutputSize        int `json:"llm_output_size"`
	SpkEmbedDim          int `json:"spk_embed_dim"`
	TextTokenSize        int `json:"text_token_size"`
	SpeechTokenSize      int `json:"speech_token_size"`
	// Scalars holds every plain scalar of the file, as text, by key; keys inside a top-level
	// mapping are prefixed with its name ("llm.text_token_size").
	Scalars map[string]string `json:"-"`

	found map[string]int
}

// Has reports whether the file sets the field named key (e.g. "llm_input_size").
func (c *Config) Has(key string) bool {
	_, ok := c.found[key]
	return ok
}

// maxConfig bounds config.yaml (the official one is 4.2 kB).
const maxConfig = 1 << 20

// ReadConfig reads config.yaml at path.
func ReadConfig(path string) (*Config, error) {
	name := filepath.Base(path)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: name, Kind: ErrNotCheckpoint, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	return ParseConfig(b, name)
}

// ParseConfig parses the text of a config.yaml; name is used in errors.
func ParseConfig(b []byte, name string) (*Config, error) {
	fail := func(format string, args ...any) error {
		return &Error{File: name, Kind: ErrNotCheckpoint, Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) > maxConfig {
		return nil, fail("is %d bytes; a VietTTS config.yaml is a few kilobytes", len(b))
	}
	c := &Config{Scalars: map[string]string{}}
	ints := map[string]*int{
		"sample_rate":             &c.SampleRate,
		"text_encoder_input_size": &c.TextEncoderInputSize,
		"llm_input_size":          &c.LLMInputSize,
		"llm_output_size":         &c.LLMOutputSize,
		"spk_embed_dim":           &c.SpkEmbedDim,
		"text_token_size":         &c.TextTokenSize,
		"speech_token_size":       &c.SpeechTokenSize,
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxConfig)
	line, parent := 0, ""
	found := map[string]int{} // field → line it was taken from
	for sc.Scan() {
		line++
		raw := sc.Text()
		s := strings.TrimLeft(raw, " ")
		if s == "" || s[0] == '#' || s[0] == '-' || strings.HasPrefix(s, "\t") {
			continue
		}
		indented := len(s) != len(raw)
		key, val, ok := strings.Cut(s, ":")
		if !ok {
			continue
		}
		key = strings.TrimSpace(key)
		if i := strings.Index(val, " #"); i >= 0 {
			val = val[:i]
		}
		val = strings.TrimSpace(val)
		if !indented {
			parent = key
		}
		if val == "" || strings.HasPrefix(val, "!") || strings.HasPrefix(val, "&") || strings.HasPrefix(val, "*") {
			continue // a mapping, a tag or an anchor: not a plain scalar
		}
		val = strings.Trim(val, `"'`)
		name := key
		if indented {
			name = parent + "." + key
		}
		c.Scalars[name] = val
		// A field is taken at the top level, or else from its first appearance inside a
		// mapping (VietTTS keeps text_token_size and speech_token_size under llm:).
		p, want := ints[key]
		if !want {
			continue
		}
		if prev, seen := found[key]; seen && (indented || prev < 0) {
			continue
		}
		n, err := strconv.Atoi(val)
		if err != nil {
			return nil, fail("line %d: %s is %q, not a whole number", line, name, val)
		}
		*p = n
		found[key] = line
		if !indented {
			found[key] = -line
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fail("cannot read: %v", err)
	}
	var missing []string
	for _, k := range []string{"sample_rate", "text_token_size", "speech_token_size", "spk_embed_dim"} {
		if _, ok := found[k]; !ok {
			missing = append(missing, k)
		}
	}
	c.found = found
	if len(missing) > 0 {
		return nil, fail("lacks %s: not a VietTTS/CosyVoice config.yaml", strings.Join(missing, ", "))
	}
	return c, nil
}
