// Package cli is the headless face of VietTTS Studio: the same backend as the GUI, driven by
// subcommands for scripts, tests and CI. main calls Run when the binary gets arguments.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/viettts-studio/studio/backend/home"
)

// Env is what a command runs against: its streams and data locations.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Dirs   home.Dirs
}

// Command is one subcommand. Run gets the arguments after the command name and returns the exit
// status; it prints its own errors to env.Stderr.
type Command struct {
	Name    string
	Summary string
	Usage   string // argument synopsis, shown by help
	Run     func(ctx context.Context, env *Env, args []string) int
}

// commands lists every subcommand. Each lives in its own file of this package.
func commands() []Command {
	return []Command{
		versionCommand(),
		doctorCommand(),
		addCommand(),
		normalizeCommand(),
		inspectCommand(),
		convertCommand(),
		benchCommand(),
		voicesCommand(),
		modelCommand(),
		jobsCommand(),
	}
}

// Run runs the subcommand named by args[0] and returns the process exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		if len(args) > 1 {
			if c, ok := find(args[1]); ok {
				fmt.Fprintf(stdout, "usage: viettts-studio %s %s\n\n%s\n", c.Name, c.Usage, c.Summary)
				return 0
			}
		}
		usage(stdout)
		return 0
	}
	if args[0] == "--version" || args[0] == "-v" {
		args[0] = "version"
	}
	c, ok := find(args[0])
	if !ok {
		fmt.Fprintf(stderr, "viettts-studio: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	dirs, err := home.Resolve()
	if err != nil {
		fmt.Fprintf(stderr, "viettts-studio: %v\n", err)
		return 1
	}
	env.Dirs = dirs
	return c.Run(ctx, env, args[1:])
}

func find(name string) (Command, bool) {
	for _, c := range commands() {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func usage(w io.Writer) {
	fmt.Fprint(w, "VietTTS Studio: Vietnamese narration from documents.\n\n")
	fmt.Fprint(w, "usage: viettts-studio                 open the app\n")
	fmt.Fprint(w, "       viettts-studio COMMAND [ARGS]  run headless\n\ncommands:\n")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprint(w, "\n`viettts-studio help COMMAND` or `viettts-studio COMMAND -h` shows a command's options.\n")
}

// newFlags returns a flag set for a command that prints its usage to env.Stderr.
func newFlags(env *Env, c string, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: viettts-studio %s %s\n", c, synopsis)
		if strings.Contains(synopsis, "[flags]") || hasFlags(fs) {
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseExit is a command's exit status after its flags failed to parse: 0 when -h or --help asked
// for the usage (which the flag set printed), 2 for a bad flag.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// parseInterspersed parses flags that come before, between or after the positional arguments
// ("inspect book.epub --json"); the positional arguments are then fs.Args().
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// isTerminal reports whether w is a terminal (progress bars draw only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
