package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/backend/audio/player"
	"github.com/viettts-studio/studio/backend/studio"
	"github.com/viettts-studio/studio/backend/system"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/bytesize"
)

// Preferences returns the stored settings of the Settings view.
func (a *App) Preferences() (studio.Preferences, error) { return a.studio.Preferences(a.bg()) }

// SetPreferences stores p. When the device settings changed, synthesis restarts with them in the
// background and reports the outcome as an "engines" event.
func (a *App) SetPreferences(p studio.Preferences) error {
	changed, err := a.studio.SetPreferences(a.bg(), p)
	if err != nil {
		return err
	}
	if changed {
		a.restartEngines()
	}
	return nil
}

// EnginesEvent says how a restart of synthesis ended.
type EnginesEvent struct {
	Running   bool   `json:"running"`
	Instances int    `json:"instances"`
	Reason    string `json:"reason"`
	// ReasonCode is Reason as a code and parameters, for the window to translate.
	ReasonCode inference.Reason `json:"reasonCode"`
	Error      string           `json:"error,omitempty"`
}

// restartEngines rebuilds the engines from the stored settings and the installed model, in the
// background, and emits "engines" when done, with the error when they could not start.
func (a *App) restartEngines() { a.runEngines(true) }

// startSynthesis starts synthesis with the installed model in the background, so the window
// opens at once even when sizing the pool takes a warm-up segment; without a model it only logs.
func (a *App) startSynthesis() { a.runEngines(false) }

// runEngines (re)starts the engines in the background and emits "engines"; a failure is reported
// to the window when report is set, else only logged. Starts run one at a time: two settings
// changed in quick succession (a fixed count chosen, then typed) once ended with the engines of
// the first change, when its slower restart finished last.
func (a *App) runEngines(report bool) {
	a.goBackground(func(ctx context.Context) {
		a.restartMu.Lock()
		defer a.restartMu.Unlock()
		ev := EnginesEvent{}
		if err := startEngines(ctx, a.studio, a.dirs, a.log); err != nil {
			if !report {
				a.log.Warn("synthesis is off until a model is installed", "why", err)
				return
			}
			ev.Error = err.Error()
			a.log.Warn("synthesis not restarted", "err", err)
		}
		ev.Running, ev.Instances, ev.ReasonCode = a.studio.Synthesizing()
		ev.Reason = ev.ReasonCode.Text
		a.emit("engines", ev)
	})
}

// DeviceInfo is the Device section of Settings.
type DeviceInfo struct {
	Providers []ProviderView `json:"providers"`
	Selected  string         `json:"selected"`
	Running   bool           `json:"running"`
	Instances int            `json:"instances"`
	Reason    string         `json:"reason"`
	// ReasonCode is Reason as a code and parameters, for the window to translate.
	ReasonCode inference.Reason `json:"reasonCode"`
	GPUs       []GPUView        `json:"gpus"`
	GPUNote    string           `json:"gpuNote,omitempty"`
}

// ProviderView is one execution provider and whether it can run here: if not, why and what to
// do, in English and as codes the window translates.
type ProviderView struct {
	Name       string           `json:"name"`
	Available  bool             `json:"available"`
	Reason     string           `json:"reason,omitempty"`
	Fix        string           `json:"fix,omitempty"`
	ReasonCode inference.Reason `json:"reasonCode"`
	FixCode    inference.Reason `json:"fixCode"`
}

// GPUView is one GPU with its memory as NVML reports it.
type GPUView struct {
	Name      string `json:"name"`
	FreeBytes uint64 `json:"freeBytes"`
	Total     uint64 `json:"totalBytes"`
}

// Device reports the providers, the effective instance count and why, and the GPUs' free memory.
func (a *App) Device() DeviceInfo {
	r := system.Diagnose(a.dirs)
	d := DeviceInfo{Selected: string(r.Selected), GPUNote: r.GPU.Error}
	for _, p := range r.Providers {
		d.Providers = append(d.Providers, ProviderView{Name: string(p.Provider), Available: p.Available, Reason: p.Reason, Fix: p.Fix,
			ReasonCode: p.Why, FixCode: p.How})
	}
	for _, g := range r.GPU.Devices {
		d.GPUs = append(d.GPUs, GPUView{Name: g.Name, FreeBytes: g.FreeBytes, Total: g.TotalBytes})
	}
	d.Running, d.Instances, d.ReasonCode = a.studio.Synthesizing()
	d.Reason = d.ReasonCode.Text
	return d
}

// Instances returns the state of each synthesis instance by index (empty when synthesis is off).
func (a *App) Instances() []string { return a.studio.InstanceStates() }

// Model describes the installed model.
func (a *App) Model() studio.ModelInfo { return a.studio.Model() }

// ModelEvent reports a model operation: progress, then a last event with Finished set.
type ModelEvent struct {
	studio.ModelProgress
	Finished bool              `json:"finished"`
	Error    string            `json:"error,omitempty"`
	Model    *studio.ModelInfo `json:"model,omitempty"`
}

// DownloadModel downloads, checks and installs the official model in the background (the user
// accepted its CC BY-NC licence in the window); progress comes as "model" events.
func (a *App) DownloadModel() error {
	return a.modelTask(func(ctx context.Context, p func(studio.ModelProgress)) (studio.ModelInfo, error) {
		return a.studio.DownloadModel(ctx, "", "", p)
	})
}

// InstallModelFrom compiles the checkpoint in folder (empty: ask with a folder dialog) in the
// background; progress comes as "model" events. It returns the folder chosen ("" when canceled).
func (a *App) InstallModelFrom(folder string) (string, error) {
	if folder == "" {
		var err error
		folder, err = wruntime.OpenDirectoryDialog(a.ctx, wruntime.OpenDialogOptions{Title: "VietTTS checkpoint (llm.pt, flow.pt, hift.pt, config.yaml)"})
		if err != nil || folder == "" {
			return "", err
		}
	}
	err := a.modelTask(func(ctx context.Context, p func(studio.ModelProgress)) (studio.ModelInfo, error) {
		return a.studio.InstallModel(ctx, folder, p)
	})
	if err != nil {
		return "", err
	}
	return folder, nil
}

// VerifyModel re-hashes the installed model in the background; the result comes as a "model" event.
func (a *App) VerifyModel() error {
	return a.modelTask(func(ctx context.Context, p func(studio.ModelProgress)) (studio.ModelInfo, error) {
		return a.studio.Model(), a.studio.VerifyModel(ctx, p)
	})
}

// RebuildModel compiles the model again from the checkpoint kept on this computer (after an
// update that changed the bundle format), in the background and without the network; progress
// comes as "model" events like an install's.
func (a *App) RebuildModel() error {
	return a.modelTask(func(ctx context.Context, p func(studio.ModelProgress)) (studio.ModelInfo, error) {
		info, err := a.studio.RebuildModel(ctx, p)
		if err != nil {
			return a.studio.Model(), err
		}
		return info, nil
	})
}

// RemoveModelSource deletes the kept download of the checkpoint and returns what the model
// section shows then. It is refused while a model operation runs (a download writes there).
func (a *App) RemoveModelSource() (studio.ModelInfo, error) {
	if !a.modelBusy.CompareAndSwap(false, true) {
		return studio.ModelInfo{}, errModelBusy
	}
	defer a.modelBusy.Store(false)
	freed, err := a.studio.RemoveModelSource()
	if err != nil {
		return studio.ModelInfo{}, err
	}
	a.log.Info("removed the kept model download", "freed", bytesize.Format(freed))
	return a.studio.Model(), nil
}

// errModelBusy refuses a second model operation while one runs.
var errModelBusy = errors.New("the model is already being downloaded, installed, rebuilt or verified: wait for it to finish")

// modelTask runs f in the background with throttled progress events, then restarts synthesis
// when a model is installed. Only one runs at a time.
func (a *App) modelTask(f func(context.Context, func(studio.ModelProgress)) (studio.ModelInfo, error)) error {
	if !a.modelBusy.CompareAndSwap(false, true) {
		return errModelBusy
	}
	a.goBackground(func(ctx context.Context) {
		defer a.modelBusy.Store(false)
		var last studio.ModelProgress
		info, err := f(ctx, func(p studio.ModelProgress) {
			// one event per percent or step: a 2 GB download must not flood the window
			if p.Stage == last.Stage && p.What == last.What && p.Done-last.Done < 0.01 && p.Done < 1 {
				return
			}
			last = p
			a.emit("model", ModelEvent{ModelProgress: p})
		})
		ev := ModelEvent{ModelProgress: last, Finished: true, Model: &info}
		if err != nil {
			ev.Error = err.Error()
			a.log.Warn("model operation failed", "err", err)
		} else if running, _, _ := a.studio.Synthesizing(); !running && info.Installed {
			if err := startEngines(ctx, a.studio, a.dirs, a.log); err != nil {
				ev.Error = err.Error()
			}
		}
		a.emit("model", ev)
	})
	return nil
}

// Voices lists the built-in and cloned voices.
func (a *App) Voices() ([]studio.VoiceInfo, error) { return a.studio.Voices() }

// PreviewVoice reads the sample sentence with voice and plays it, in the background; the player
// events say when it plays, and a "voice" event carries an error.
func (a *App) PreviewVoice(voice string) error {
	if err := a.openPlayer(); err != nil {
		return err
	}
	a.mu.Lock()
	a.playing = nil
	a.mu.Unlock()
	a.player.Load([]player.Item{{ID: "preview:" + voice, Audio: audio.SourceFunc(func(ctx context.Context) ([]float32, error) {
		return a.studio.Preview(ctx, voice, "")
	})}})
	return a.player.Play(0)
}

// VoiceEvent reports the end of adding a voice.
type VoiceEvent struct {
	Clip  string            `json:"clip"`
	Voice *studio.VoiceInfo `json:"voice,omitempty"`
	Error string            `json:"error,omitempty"`
}

// AddVoice clones a voice named name from the clip at path in the background (empty path: ask
// with a file dialog) and reports it as a "voice" event. It returns the clip chosen.
func (a *App) AddVoice(name, clip string) (string, error) {
	if clip == "" {
		var err error
		clip, err = wruntime.OpenFileDialog(a.ctx, wruntime.OpenDialogOptions{Title: "VietTTS Studio",
			Filters: []wruntime.FileFilter{{DisplayName: "Audio", Pattern: "*.wav;*.flac;*.mp3;*.ogg"}}})
		if err != nil || clip == "" {
			return "", err
		}
	}
	a.goBackground(func(ctx context.Context) {
		ev := VoiceEvent{Clip: clip}
		v, err := a.studio.CloneVoice(ctx, name, clip)
		if err == nil {
			ev.Voice = &v
			if running, _, _ := a.studio.Synthesizing(); running {
				err = a.studio.RestartEngines(ctx)
			}
		}
		if err != nil {
			ev.Error = err.Error()
			a.log.Warn("adding a voice failed", "clip", clip, "err", err)
		}
		a.emit("voice", ev)
	})
	return clip, nil
}

// ChooseFolder asks for a folder (for the output folder setting); "" when canceled.
func (a *App) ChooseFolder(title string) (string, error) {
	return wruntime.OpenDirectoryDialog(a.ctx, wruntime.OpenDialogOptions{Title: title})
}

// ChooseCover asks for a cover image; "" when canceled.
func (a *App) ChooseCover() (string, error) {
	return wruntime.OpenFileDialog(a.ctx, wruntime.OpenDialogOptions{Title: "VietTTS Studio",
		Filters: []wruntime.FileFilter{{DisplayName: "JPEG, PNG", Pattern: "*.jpg;*.jpeg;*.png"}}})
}

// maxCover bounds the cover image an export embeds.
const maxCover = 20 << 20

// readCover reads a JPEG or PNG cover image.
func readCover(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cover image: %w (choose another image)", err)
	}
	if st.Size() > maxCover {
		return nil, fmt.Errorf("cover image %s is %d MB: choose one under %d MB", filepath.Base(path), st.Size()>>20, maxCover>>20)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cover image: %w", err)
	}
	if !bytes.HasPrefix(b, []byte("\xff\xd8\xff")) && !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return nil, fmt.Errorf("cover image %s is not a JPEG or PNG file: convert it or choose another", filepath.Base(path))
	}
	return b, nil
}

// documentExts are the extensions a dropped folder is searched for.
var documentExts = map[string]bool{".txt": true, ".md": true, ".markdown": true, ".html": true, ".xhtml": true,
	".htm": true, ".docx": true, ".odt": true, ".epub": true, ".pdf": true, ".srt": true, ".vtt": true}

// expandFolders replaces each folder in paths by the documents under it, in name order (hidden
// files and folders skipped); files are kept as given, so an unknown one gets its own error.
func expandFolders(paths []string) []string {
	var out []string
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			out = append(out, p)
			continue
		}
		filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // an unreadable part of the folder is skipped, the rest imported
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() && documentExts[strings.ToLower(filepath.Ext(path))] {
				out = append(out, path)
			}
			return nil
		})
	}
	return out
}

// audioClip reports whether a dropped file is a voice clip rather than a document.
func audioClip(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".wav", ".flac", ".mp3", ".ogg", ".oga", ".m4a":
		return true
	}
	return false
}

// onDrop imports dropped documents and clones voices from dropped audio clips.
func (a *App) onDrop(paths []string) {
	var docs []string
	for _, p := range paths {
		if audioClip(p) {
			if _, err := a.AddVoice("", p); err != nil {
				a.emit("voice", VoiceEvent{Clip: p, Error: err.Error()})
			}
			continue
		}
		docs = append(docs, p)
	}
	if len(docs) > 0 {
		a.importInBackground(docs)
	}
}

// goBackground runs f in a goroutine the app waits for on shutdown; f's context ends then.
func (a *App) goBackground(f func(ctx context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f(a.life)
	}()
}

// exportTarget is where an export goes when the dialog names no file: in the output folder
// setting, a file named after the title (a folder when split by chapter), or "" to ask with a
// save dialog.
func (a *App) exportTarget(title, ext string, folder bool) string {
	p, err := a.studio.Preferences(a.bg())
	if err != nil || p.OutputDir == "" {
		return ""
	}
	if folder {
		return filepath.Join(p.OutputDir, safeFileName(title))
	}
	return filepath.Join(p.OutputDir, safeFileName(title)+ext)
}

// safeFileName keeps a title usable as a file name on every platform.
func safeFileName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) || r < 32 {
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	if s == "" || s == "." || s == ".." {
		return "audiobook"
	}
	return s
}
