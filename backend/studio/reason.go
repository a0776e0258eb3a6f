package studio

import (
	"regexp"
	"strings"
)

// Reason is why the pool has the size it has, in two forms: Text, the English sentence the
// inference package and the pool write (for logs and the CLI), and Code with Params, which the
// window translates. Code is "" when the text is not one it knows; the window then shows Text.
type Reason struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params,omitempty"`
	Text   string            `json:"text"`
}

// reasonForms are the sentences inference.ResolveSize, gpu.MeasureSize, the pool (an instance
// retired) and ErrNoEngines write, each with its code and the names of its parameters. A test runs
// ResolveSize over every case, so a changed sentence there fails it.
var reasonForms = []struct {
	code   string
	re     *regexp.Regexp
	params []string
}{
	{"no-model", regexp.MustCompile(`^no model is installed`), nil},
	{"cuda-default", regexp.MustCompile(`^2 instances: the default on a CUDA GPU$`), nil},
	{"cpu-default", regexp.MustCompile(`^(\d+) instance\(s\) on CPU: (\d+) cores, (\d+) threads each$`), []string{"n", "cores", "threads"}},
	{"cpu-auto", regexp.MustCompile(`^auto on CPU: (\d+) cores ÷ (\d+) threads per instance$`), []string{"cores", "threads"}},
	{"cuda-auto-unknown", regexp.MustCompile(`^auto: free GPU memory could not be read, so the default of 2 instances$`), nil},
	{"cuda-auto-estimate", regexp.MustCompile(`^auto: (\d+) instance\(s\) fit (.+) free of (.+) GPU memory \((.+) each, (.+) kept in reserve\)$`),
		[]string{"n", "free", "total", "each", "reserve"}},
	{"cpu-capped", regexp.MustCompile(`^(\d+) instance\(s\) asked, (\d+) run on CPU: (\d+) cores, (\d+) threads each$`), []string{"asked", "n", "cores", "threads"}},
	{"as-set", regexp.MustCompile(`^(\d+) instance\(s\), as set$`), []string{"n"}},
	// Measured on a GPU (gpu.MeasureSize); memory is its note on what one instance takes.
	{"cuda-capped", regexp.MustCompile(`^(\d+) instance\(s\) asked, (\d+) fit: ` + memoryNote + `$`), []string{"asked", "n", "peak", "free", "reserve"}},
	{"cuda-default-measured", regexp.MustCompile(`^2 instances, the default on a CUDA GPU \(` + memoryNote + `\)$`), []string{"peak", "free", "reserve"}},
	{"as-set-measured", regexp.MustCompile(`^(\d+) instance\(s\), as set \(` + memoryNote + `\)$`), []string{"n", "peak", "free", "reserve"}},
	{"cuda-auto-oom", regexp.MustCompile(`^auto: (\d+) instance\(s\): instance (\d+) ran out of memory while loading$`), []string{"n", "instance"}},
	{"cuda-auto-gain", regexp.MustCompile(`^auto: (\d+) instance\(s\): instance (\d+) added (-?\d+)% throughput \(([\d.]+) → ([\d.]+) s of audio per second\), less than (\d+)%$`),
		[]string{"n", "instance", "gain", "from", "to", "min"}},
	{"cuda-auto-max", regexp.MustCompile(`^auto: (\d+) instance\(s\): the most allowed \((\d+)\); ` + memoryNote + `$`), []string{"n", "max", "peak", "free", "reserve"}},
	{"cuda-auto-memory", regexp.MustCompile(`^auto: (\d+) instance\(s\): ` + memoryNote + `$`), []string{"n", "peak", "free", "reserve"}},
	// The pool, when an instance could not be started and was retired.
	{"instance-failed", regexp.MustCompile(`^instance (\d+) could not be started; running (\d+) instance\(s\)$`), []string{"instance", "n"}},
}

const memoryNote = `one instance took ([\d.]+) GiB at its peak on the longest segment; ([\d.]+) GiB free, ([\d.]+) GiB kept in reserve`

// providerSuffix is what VietTTSEngines appends: the provider the instances run on.
var providerSuffix = regexp.MustCompile(` \((cpu|cuda|directml)\)$`)

// ReasonOf reads an English reason into its code and parameters. A provider named at its end
// becomes the "provider" parameter.
func ReasonOf(text string) Reason {
	r := Reason{Text: text}
	body := strings.TrimSpace(text)
	provider := ""
	if m := providerSuffix.FindStringSubmatch(body); m != nil {
		provider, body = m[1], strings.TrimSuffix(body, m[0])
	}
	for _, f := range reasonForms {
		m := f.re.FindStringSubmatch(body)
		if m == nil {
			continue
		}
		r.Code = f.code
		if len(f.params) > 0 || provider != "" {
			r.Params = map[string]string{}
		}
		for i, name := range f.params {
			r.Params[name] = m[i+1]
		}
		if provider != "" {
			r.Params["provider"] = provider
		}
		return r
	}
	return r
}
