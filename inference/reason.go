package inference

import (
	"fmt"
	"maps"
	"strings"
)

// Reason says why something is as it is, for a person (why the pool has the size it has): Code and
// Params, which the window shows in its own language (its "reason.<code>" string with each {name}
// replaced by Params[name]), and Text, the English sentence for logs and the command line.
type Reason struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params,omitempty"`
	Text   string            `json:"text"`
}

// memoryNote is what one GPU instance was measured to take, shared by the measured reasons.
const memoryNote = "one instance took {peak} GiB at its peak on the longest segment; {free} GiB free, {reserve} GiB kept in reserve"

// ReasonTemplates is a catalog of reasons: the English sentence of each code, with {name} for each
// parameter. A package that explains itself to the window keeps one catalog, the one list of its
// sentences, which the window's translations follow (a test checks that every code of every
// catalog has a translation showing exactly its parameters).
type ReasonTemplates map[string]string

// PoolReasons are the reasons for the pool's size.
var PoolReasons = ReasonTemplates{
	// ResolveSize.
	"cuda-default":       "2 instances: the default on a CUDA GPU",
	"cpu-default":        "{n} instance(s) on CPU: {cores} cores, {threads} threads each",
	"cpu-auto":           "auto on CPU: {cores} cores ÷ {threads} threads per instance",
	"cuda-auto-unknown":  "auto: free GPU memory could not be read, so the default of 2 instances",
	"cuda-auto-estimate": "auto: {n} instance(s) fit {free} free of {total} GPU memory ({each} each, {reserve} kept in reserve)",
	"cpu-capped":         "{asked} instance(s) asked, {n} run on CPU: {cores} cores, {threads} threads each",
	"as-set":             "{n} instance(s), as set",
	// The pool, when an instance is retired.
	"instance-failed": "instance {instance} could not be started; running {n} instance(s)",
	"instance-oom":    "instance {instance} ran out of memory; running {n} instance(s)",
	// Sizing by measurement on a GPU (inference/gpu).
	"cuda-capped":           "{asked} instance(s) asked, {n} fit: " + memoryNote,
	"cuda-default-measured": "2 instances, the default on a CUDA GPU (" + memoryNote + ")",
	"as-set-measured":       "{n} instance(s), as set (" + memoryNote + ")",
	"cuda-auto-oom":         "auto: {n} instance(s): instance {instance} ran out of memory while loading",
	"cuda-auto-gain":        "auto: {n} instance(s): instance {instance} added {gain}% throughput ({from} → {to} s of audio per second), less than {min}%",
	"cuda-auto-max":         "auto: {n} instance(s): the most allowed ({max}); " + memoryNote,
	"cuda-auto-memory":      "auto: {n} instance(s): " + memoryNote,
	// No synthesis at all.
	"no-model": "no model is installed: install one in Settings → Model or with `viettts-studio model download`",
}

// NewReason makes a reason of PoolReasons (see ReasonTemplates.New).
func NewReason(code string, params ...any) Reason { return PoolReasons.New(code, params...) }

// New makes the reason code with its parameters, given as name, value pairs (values are formatted
// with fmt.Sprint); its text is the code's template with each {name} replaced. A code without a
// template keeps the code as its text.
func (t ReasonTemplates) New(code string, params ...any) Reason {
	r := Reason{Code: code, Text: code}
	if tmpl, ok := t[code]; ok {
		r.Text = tmpl
	}
	for i := 0; i+1 < len(params); i += 2 {
		if r.Params == nil {
			r.Params = map[string]string{}
		}
		name, v := fmt.Sprint(params[i]), fmt.Sprint(params[i+1])
		r.Params[name] = v
		r.Text = strings.ReplaceAll(r.Text, "{"+name+"}", v)
	}
	return r
}

// On returns the reason with the provider it applies to: the "provider" parameter, and the
// provider named at the end of the text.
func (r Reason) On(provider string) Reason {
	r.Params = maps.Clone(r.Params)
	if r.Params == nil {
		r.Params = map[string]string{}
	}
	r.Params["provider"] = provider
	r.Text += " (" + provider + ")"
	return r
}

// String is the English sentence.
func (r Reason) String() string { return r.Text }
