package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/viettts-studio/studio/backend/textnorm"
	"github.com/viettts-studio/studio/backend/textnorm/segment"
	"github.com/viettts-studio/studio/inference/tokenizer"
)

// maxNormalizeInput bounds what normalize reads from stdin (a long novel is ~2 MB).
const maxNormalizeInput = 64 << 20

func normalizeCommand() Command {
	const synopsis = "[flags] < text"
	return Command{
		Name:    "normalize",
		Summary: "print the spoken form of Vietnamese text read from stdin",
		Usage:   synopsis,
		Run: func(ctx context.Context, env *Env, args []string) int {
			fs := newFlags(env, "normalize", synopsis)
			asJSON := fs.Bool("json", false, "print JSON: source, spoken form, words with byte spans into the NFC source")
			segments := fs.Bool("segments", false, "cut the text into synthesis segments (with --json: segments with spans and pause marks)")
			thousand := fs.String("thousand", "nghìn", "the word for 1000: nghìn or ngàn")
			zeroTens := fs.String("zero-tens", "linh", "the word for a zero tens digit (105): linh or lẻ")
			skipURLs := fs.Bool("skip-urls", false, "leave URLs and e-mail addresses out instead of reading them")
			plainStops := fs.Bool("plain-stops", false, "turn ? and ! into . as VietTTS's own front end does")
			lexicon := fs.String("lexicon", "", "lexicon file: one entry a line, `pattern<TAB>spoken`; a pattern written /like this/ is a regular expression")
			tokFile := fs.String("tokenizer", "", "the model's multilingual.tiktoken file for exact segment lengths (default: an estimate)")
			maxTokens := fs.Int("max-tokens", 30, "segment length limit in text tokens")
			if err := fs.Parse(args); err != nil {
				return parseExit(err)
			}
			if fs.NArg() > 0 {
				fmt.Fprintf(env.Stderr, "normalize: unexpected argument %q: the text is read from stdin\n", fs.Arg(0))
				return 2
			}
			if *thousand != "nghìn" && *thousand != "ngàn" {
				fmt.Fprintf(env.Stderr, "normalize: --thousand must be nghìn or ngàn, not %q\n", *thousand)
				return 2
			}
			if *zeroTens != "linh" && *zeroTens != "lẻ" {
				fmt.Fprintf(env.Stderr, "normalize: --zero-tens must be linh or lẻ, not %q\n", *zeroTens)
				return 2
			}
			opts := textnorm.Options{Thousand: *thousand, ZeroTens: *zeroTens, SkipURLs: *skipURLs, PlainStops: *plainStops}
			if *lexicon != "" {
				entries, err := readLexiconFile(*lexicon)
				if err != nil {
					fmt.Fprintf(env.Stderr, "normalize: %v\n", err)
					return 1
				}
				if err := textnorm.ValidateLexicon(entries); err != nil {
					fmt.Fprintf(env.Stderr, "normalize: %s: %v\n", *lexicon, err)
					return 1
				}
				opts.Lexicon = entries
			}
			var tok segment.TokenCounter = segment.Approx{}
			if *tokFile != "" {
				t, err := tokenizer.Load(*tokFile)
				if err != nil {
					fmt.Fprintf(env.Stderr, "normalize: %v\n", err)
					return 1
				}
				tok = t
			}
			data, err := io.ReadAll(io.LimitReader(env.Stdin, maxNormalizeInput+1))
			if err != nil {
				fmt.Fprintf(env.Stderr, "normalize: reading stdin: %v\n", err)
				return 1
			}
			if len(data) > maxNormalizeInput {
				fmt.Fprintf(env.Stderr, "normalize: the input is over %d MB: split it, or import the document with `convert`\n", maxNormalizeInput>>20)
				return 1
			}
			res := textnorm.New(opts).Normalize(string(data))
			var segs []segment.Segment
			if *segments {
				segs = segment.Split(res, tok, segment.Options{MaxTokens: *maxTokens})
			}
			out := bufio.NewWriter(env.Stdout)
			defer out.Flush()
			switch {
			case *asJSON && *segments:
				writeJSON(out, struct {
					Source   string            `json:"source"`
					Spoken   string            `json:"spoken"`
					Segments []segment.Segment `json:"segments"`
				}{res.Source, res.Spoken, segs})
			case *asJSON:
				writeJSON(out, res)
			case *segments:
				for _, s := range segs {
					fmt.Fprintf(out, "%s\t[%d tokens, %s]\n", s.Spoken, s.Tokens, s.Pause)
				}
			default:
				fmt.Fprintln(out, res.Spoken)
			}
			return 0
		},
	}
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// readLexiconFile reads `pattern<TAB>spoken` lines; blank lines and lines starting with # are
// skipped; /pattern/ is a regular expression.
func readLexiconFile(path string) ([]textnorm.LexEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lexicon: %w", err)
	}
	defer f.Close()
	var entries []textnorm.LexEntry
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		pattern, spoken, ok := strings.Cut(text, "\t")
		if !ok {
			return nil, fmt.Errorf("%s:%d: no tab between the pattern and its spoken form; write `pattern<TAB>spoken`", path, line)
		}
		e := textnorm.LexEntry{Pattern: pattern, Spoken: spoken}
		if len(pattern) >= 2 && strings.HasPrefix(pattern, "/") && strings.HasSuffix(pattern, "/") {
			e.Pattern, e.IsRegex = pattern[1:len(pattern)-1], true
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lexicon %s: %w", path, err)
	}
	return entries, nil
}
