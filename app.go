package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wailsapp/wails/v2/pkg/options"
	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/backend/audio/export"
	"github.com/viettts-studio/studio/backend/audio/player"
	"github.com/viettts-studio/studio/backend/buildinfo"
	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/backend/studio"
	"github.com/viettts-studio/studio/backend/system"
	"github.com/viettts-studio/studio/inference"
)

// App is the thin bound struct between the window and the backend: it turns GUI calls into
// backend calls and backend events into Wails events ("job", "segment", "instance", "player",
// "import", "export"). It holds no state of its own beyond the Wails context and the services main
// built for it.
type App struct {
	ctx    context.Context
	dirs   home.Dirs
	log    *slog.Logger
	studio *studio.Studio
	player *player.Player
	// emit sends an event to the window; a field so tests can capture events without Wails.
	emit func(name string, data any)

	machineOnce sync.Once
	machine     system.Report

	mu        sync.Mutex
	playing   []string // segment ids of the play queue, by index
	playerErr error
	opened    bool
	wg        sync.WaitGroup
	stop      context.CancelFunc
	// life ends when the window closes: background work (imports, model downloads) stops then.
	life context.Context
	// modelBusy is set while a model download, install or verification runs: one at a time.
	modelBusy atomic.Bool
	// restartMu runs restarts of synthesis one after another, so the last one to run reads the
	// settings last changed and its engines are the ones left running.
	restartMu sync.Mutex
}

// NewApp returns the bound app over the given services.
func NewApp(dirs home.Dirs, st *studio.Studio, pl *player.Player, log *slog.Logger) *App {
	a := &App{dirs: dirs, studio: st, player: pl, log: log}
	a.life, a.stop = context.WithCancel(context.Background())
	a.emit = func(name string, data any) {
		if a.ctx != nil {
			wruntime.EventsEmit(a.ctx, name, data)
		}
	}
	return a
}

func (a *App) startup(ctx context.Context) {
	a.ctx = ctx
	fwd := a.life
	sub := a.studio.Subscribe()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer sub.Close()
		a.forward(fwd, sub)
	}()
	wruntime.OnFileDrop(ctx, func(x, y int, paths []string) { a.onDrop(paths) })
	a.log.Info("window started", "data", a.dirs.Config)
}

func (a *App) shutdown(ctx context.Context) {
	if a.stop != nil {
		a.stop()
	}
	a.wg.Wait()
	a.log.Info("window closed")
}

// forward turns backend events into window events until ctx ends.
func (a *App) forward(ctx context.Context, sub *events.Subscription) {
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			return
		}
		switch e := ev.(type) {
		case events.JobProgress:
			a.emit("job", e)
		case events.SegmentDone:
			a.emit("segment", SegmentEvent{ID: e.SegmentID, JobID: e.JobID, State: string(store.StateDone), Seconds: e.Seconds})
		case events.SegmentFailed:
			state := store.StateFailed
			if e.WillRetry {
				state = store.StateQueued
			}
			a.emit("segment", SegmentEvent{ID: e.SegmentID, JobID: e.JobID, State: string(state), Error: e.Reason})
		case events.InstanceState:
			a.emit("instance", e)
		case events.StorageState:
			a.emit("storage", StorageEvent{Full: e.Full, Dir: e.Dir, Error: e.Err})
		}
	}
}

// onSecondInstance brings the running window to the front when the app is launched again.
func (a *App) onSecondInstance(data options.SecondInstanceData) {
	if a.ctx == nil {
		return
	}
	a.log.Info("second launch: focusing the window", "args", data.Args)
	wruntime.WindowUnminimise(a.ctx)
	wruntime.Show(a.ctx)
	if len(data.Args) > 0 {
		a.onDrop(data.Args)
	}
}

// Status is what the status bar shows.
type Status struct {
	Version         string `json:"version"`
	Provider        string `json:"provider"`
	ORTVersion      string `json:"ortVersion"`
	Synthesizing    bool   `json:"synthesizing"`
	Instances       int    `json:"instances"`
	InstancesReason string `json:"instancesReason"`
	// InstancesReasonCode is InstancesReason as a code and parameters, for the window to translate.
	InstancesReasonCode inference.Reason `json:"instancesReasonCode"`
	ModelInstalled      bool             `json:"modelInstalled"`
	DataDir             string           `json:"dataDir"`
	// StorageFull is set while rendering is held because the disk of the render cache (RenderDir)
	// is full; it starts again by itself once space is freed.
	StorageFull bool   `json:"storageFull"`
	RenderDir   string `json:"renderDir"`
}

// Status reports the version, the execution provider, the pool size and the model.
// The window asks for it at start and on every pool change, so it reads only what can change: the
// library and provider found at the first call stand for the process's life (ONNX Runtime loads
// once), and the model is checked through its manifest.
func (a *App) Status() Status {
	a.machineOnce.Do(func() { a.machine = system.Diagnose(a.dirs) })
	r := a.machine
	s := Status{Version: buildinfo.Version, Provider: string(r.Selected), ORTVersion: r.ORT.Version,
		ModelInstalled: a.studio.Model().Installed, DataDir: a.dirs.Config}
	if s.Provider == "" {
		s.Provider = "none"
	}
	s.Synthesizing, s.Instances, s.InstancesReasonCode = a.studio.Synthesizing()
	s.InstancesReason = s.InstancesReasonCode.Text
	s.StorageFull, s.RenderDir = a.studio.Storage()
	return s
}

// JobView is one card of the queue.
type JobView struct {
	ID           int64   `json:"id"`
	ProjectID    int64   `json:"projectId"`
	Title        string  `json:"title"`
	State        string  `json:"state"`
	Priority     int     `json:"priority"`
	Total        int     `json:"total"`
	Done         int     `json:"done"`
	Failed       int     `json:"failed"`
	AudioSeconds float64 `json:"audioSeconds"`
}

// Jobs lists the jobs, unfinished first in queue order.
func (a *App) Jobs() ([]JobView, error) {
	ctx := a.bg()
	jobs, err := a.studio.Scheduler().Jobs(ctx, false)
	if err != nil {
		return nil, err
	}
	titles, err := a.titles(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]JobView, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, JobView{ID: j.ID, ProjectID: j.ProjectID, Title: titles[j.ProjectID], State: string(j.State),
			Priority: j.Priority, Total: j.Total, Done: j.Done, Failed: j.Failed, AudioSeconds: j.AudioSeconds})
	}
	return out, nil
}

func (a *App) titles(ctx context.Context) (map[int64]string, error) {
	ps, err := a.studio.Store().Projects(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]string, len(ps))
	for _, p := range ps {
		m[p.ID] = p.Title
	}
	return m, nil
}

// ProjectView is an imported document.
type ProjectView struct {
	ID       int64         `json:"id"`
	Title    string        `json:"title"`
	Source   string        `json:"source"`
	Format   string        `json:"format"`
	Chapters []ChapterView `json:"chapters"`
	// Reading is the voice and speed of the whole document ("" and 0 where chapters differ).
	Reading studio.Reading `json:"reading"`
}

// ChapterView is one chapter in the sidebar.
type ChapterView struct {
	ID      int64          `json:"id"`
	Title   string         `json:"title"`
	Reading studio.Reading `json:"reading"`
}

// Project returns a project with its chapters.
func (a *App) Project(id int64) (ProjectView, error) {
	ctx := a.bg()
	ps, err := a.studio.Store().Projects(ctx)
	if err != nil {
		return ProjectView{}, err
	}
	for _, p := range ps {
		if p.ID != id {
			continue
		}
		v := ProjectView{ID: p.ID, Title: p.Title, Source: filepath.Base(p.SourcePath), Format: p.Format}
		chs, err := a.studio.Store().Chapters(ctx, id)
		if err != nil {
			return v, err
		}
		rs, err := a.studio.Readings(ctx, id)
		if err != nil {
			return v, err
		}
		v.Reading = rs[0]
		for _, c := range chs {
			v.Chapters = append(v.Chapters, ChapterView{ID: c.ID, Title: c.Title, Reading: rs[c.ID]})
		}
		return v, nil
	}
	return ProjectView{}, fmt.Errorf("project %d: %w", id, store.ErrNotFound)
}

// SegmentView is one sentence of the document view.
type SegmentView struct {
	ID      int64   `json:"id"`
	Index   int     `json:"index"`
	Source  string  `json:"source"`
	Spoken  string  `json:"spoken"`
	State   string  `json:"state"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
	Voice   string  `json:"voice"`
}

// StorageEvent says rendering is held because the disk of the render cache (Dir) is full, or
// that it started again.
type StorageEvent struct {
	Full  bool   `json:"full"`
	Dir   string `json:"dir"`
	Error string `json:"error,omitempty"`
}

// SegmentEvent reports a segment's new state.
type SegmentEvent struct {
	ID      int64   `json:"id"`
	JobID   int64   `json:"jobId"`
	State   string  `json:"state"`
	Seconds float64 `json:"seconds,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Segments lists a chapter's segments.
func (a *App) Segments(chapterID int64) ([]SegmentView, error) {
	gs, err := a.studio.Scheduler().Segments(a.bg(), store.SegmentQuery{ChapterID: chapterID})
	if err != nil {
		return nil, err
	}
	out := make([]SegmentView, len(gs))
	for i, g := range gs {
		out[i] = SegmentView{ID: g.ID, Index: g.Index, Source: g.Source, Spoken: g.Spoken, State: string(g.State),
			Seconds: g.Seconds, Error: g.Error, Voice: g.Voice}
	}
	return out, nil
}

// ImportResult is the outcome of importing one file.
type ImportResult struct {
	Path      string `json:"path"`
	ProjectID int64  `json:"projectId,omitempty"`
	JobID     int64  `json:"jobId,omitempty"`
	Segments  int    `json:"segments,omitempty"`
	Error     string `json:"error,omitempty"`
}

// ImportFiles imports and queues each file (the documents inside a folder, in name order); one
// file's failure does not stop the others.
func (a *App) ImportFiles(paths []string) []ImportResult {
	paths = expandFolders(paths)
	out := make([]ImportResult, 0, len(paths))
	opts := studio.ImportOptions{Queue: true, ReadTitles: true}
	if prefs, err := a.studio.Preferences(a.bg()); err == nil {
		opts.Voice = prefs.Voice
	}
	for _, p := range paths {
		r := ImportResult{Path: p}
		imp, err := a.studio.Import(a.bg(), p, opts)
		if err != nil {
			r.Error = err.Error()
			a.log.Warn("import failed", "path", p, "err", err)
		} else {
			r.ProjectID, r.JobID, r.Segments = imp.Project.ID, imp.Job.ID, imp.Segments
		}
		out = append(out, r)
	}
	return out
}

// importInBackground imports dropped files without blocking the window and reports each result as
// an "import" event.
func (a *App) importInBackground(paths []string) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for _, r := range a.ImportFiles(paths) {
			a.emit("import", r)
		}
	}()
}

// OpenFiles shows the open dialog and imports what the user picks.
func (a *App) OpenFiles() ([]ImportResult, error) {
	paths, err := wruntime.OpenMultipleFilesDialog(a.ctx, wruntime.OpenDialogOptions{
		Title:   "VietTTS Studio",
		Filters: []wruntime.FileFilter{{DisplayName: "Documents", Pattern: "*.txt;*.md;*.markdown;*.html;*.xhtml;*.htm;*.docx;*.odt;*.epub;*.pdf;*.srt;*.vtt"}},
	})
	if err != nil || len(paths) == 0 {
		return nil, err
	}
	return a.ImportFiles(paths), nil
}

// PauseJob, ResumeJob, CancelJob, RetryJob and MoveJob change the queue.
func (a *App) PauseJob(id int64) error  { return a.studio.Scheduler().PauseJob(a.bg(), id) }
func (a *App) ResumeJob(id int64) error { return a.studio.Scheduler().ResumeJob(a.bg(), id) }
func (a *App) CancelJob(id int64) error { return a.studio.Scheduler().CancelJob(a.bg(), id) }
func (a *App) RetryJob(id int64) error  { return a.studio.Scheduler().RetryJob(a.bg(), id) }

// MoveJob puts job id before job before (0: at the end).
func (a *App) MoveJob(id, before int64) error {
	return a.studio.Scheduler().MoveJob(a.bg(), id, before)
}

// RetrySegment renders a failed or canceled segment again.
func (a *App) RetrySegment(id int64) error { return a.studio.Scheduler().RetrySegment(a.bg(), id) }

// EditSegment changes what a segment says and re-renders only it, ahead of bulk work.
func (a *App) EditSegment(id int64, spoken string) error {
	_, err := a.studio.Scheduler().EditSegment(a.bg(), id, spoken, true)
	return err
}

// AddLexiconEntry adds a reading for a word (projectID 0: every project) and re-renders exactly
// the segments it changes; it returns their ids.
func (a *App) AddLexiconEntry(projectID int64, pattern, spoken string, regex bool) ([]int64, error) {
	return a.studio.AddLexiconEntry(a.bg(), store.LexiconEntry{ProjectID: projectID, Pattern: pattern, Spoken: spoken, IsRegex: regex})
}

// SetReading reads a document (chapterID 0) or one of its chapters with voice ("" keeps each
// sentence's) at speed (0 keeps each sentence's); exactly the sentences that now read differently
// are rendered again, ahead of bulk work. It returns their ids.
func (a *App) SetReading(projectID, chapterID int64, voice string, speed float64) ([]int64, error) {
	return a.studio.SetReading(a.bg(), store.Reading{ProjectID: projectID, ChapterID: chapterID, Voice: voice, Speed: speed})
}

// Takes says where a sentence stands among its takes (its renderings with different seeds):
// how many there are and which one it reads with now (from 0).
func (a *App) Takes(segmentID int64) (studio.Takes, error) {
	return a.studio.Takes(a.bg(), segmentID)
}

// NewTake renders a sentence again with a new seed, ahead of bulk work, keeping its earlier takes;
// a "segment" event says when it is done.
func (a *App) NewTake(segmentID int64) (studio.Takes, error) {
	return a.studio.NewTake(a.bg(), segmentID)
}

// UseTake goes back to take index (from 0) of a sentence: done at once with that take's audio
// when it is still rendered (no synthesis), else rendered again with the same seed.
func (a *App) UseTake(segmentID int64, index int) (studio.Takes, error) {
	return a.studio.UseTake(a.bg(), segmentID, index)
}

// PlayerEvent is what the "player" event carries.
type PlayerEvent struct {
	Kind      string  `json:"kind"`
	SegmentID int64   `json:"segmentId,omitempty"`
	Offset    float64 `json:"offset"`
	Error     string  `json:"error,omitempty"`
}

func (a *App) onPlayer(e player.Event) {
	a.mu.Lock()
	var id int64
	if e.Index >= 0 && e.Index < len(a.playing) {
		id, _ = strconv.ParseInt(a.playing[e.Index], 10, 64)
	}
	a.mu.Unlock()
	pe := PlayerEvent{Kind: e.Kind.String(), SegmentID: id, Offset: e.Offset.Seconds()}
	if e.Err != nil {
		pe.Error = e.Err.Error()
	}
	a.emit("player", pe)
}

// openPlayer connects to the sound device once; a machine without one gets a clear error.
func (a *App) openPlayer() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.opened {
		return a.playerErr
	}
	a.opened = true
	if err := a.player.Open(); err != nil {
		a.playerErr = fmt.Errorf("cannot play: %w (check that a sound device is connected and not used exclusively by another program; export still works)", err)
	}
	return a.playerErr
}

// Play plays project from segment segmentID (0: the start), rendering what is not rendered yet.
func (a *App) Play(projectID, segmentID int64) error {
	if err := a.openPlayer(); err != nil {
		return err
	}
	book, err := a.studio.Book(a.bg(), projectID, 0)
	if err != nil {
		return err
	}
	items := player.Items(book, audio.Settings{})
	from := 0
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
		if it.ID == strconv.FormatInt(segmentID, 10) {
			from = i
		}
	}
	a.mu.Lock()
	a.playing = ids
	a.mu.Unlock()
	a.player.Load(items)
	return a.player.Play(from)
}

// Pause, Resume and Stop control playback.
func (a *App) Pause()  { a.player.Pause() }
func (a *App) Resume() { a.player.Resume() }
func (a *App) Stop()   { a.player.Stop() }

// Skip moves playback delta sentences forward (negative: back), to the sentence's start.
func (a *App) Skip(delta int) error {
	st := a.player.State()
	a.mu.Lock()
	n := len(a.playing)
	a.mu.Unlock()
	if n == 0 || !st.Playing {
		return nil
	}
	return a.player.Seek(min(max(st.Index+delta, 0), n-1), 0)
}

// SetRate sets the playback rate (0.5-2).
func (a *App) SetRate(r float64) error { return a.player.SetRate(r) }

// SetVolume sets the volume (0-1).
func (a *App) SetVolume(v float64) error { return a.player.SetVolume(v) }

// ExportFormats lists the export formats with whether this machine can write them.
func (a *App) ExportFormats() []export.FormatInfo { return export.Formats() }

// ExportRequest is what the export dialog asks for.
type ExportRequest struct {
	ProjectID int64  `json:"projectId"`
	Format    string `json:"format"`
	Bitrate   int    `json:"bitrate"`
	Split     string `json:"split"`
	Subtitles string `json:"subtitles"`
	Loudness  string `json:"loudness"`
	Title     string `json:"title"`
	Author    string `json:"author"`
	Narrator  string `json:"narrator"`
	// Cover is a JPEG or PNG file for the cover art; empty: none.
	Cover string `json:"cover"`
	// Out is the target file (or folder for per-chapter exports); empty asks with a dialog.
	Out string `json:"out"`
}

// Export writes the project's audiobook; progress and the result come as "export" events.
func (a *App) Export(req ExportRequest) ([]string, error) {
	info, err := export.Info(export.Format(req.Format))
	if err != nil {
		return nil, err
	}
	if !info.Available {
		return nil, fmt.Errorf("%s export is not available here: %s", info.Name, info.Reason)
	}
	book, err := a.studio.Book(a.bg(), req.ProjectID, 0)
	if err != nil {
		return nil, err
	}
	if req.Title != "" {
		book.Title = req.Title
	}
	book.Author, book.Narrator = req.Author, req.Narrator
	if req.Cover != "" {
		if book.Cover, err = readCover(req.Cover); err != nil {
			return nil, err
		}
	}
	out := req.Out
	if out == "" {
		out = a.exportTarget(book.Title, info.Ext, export.Split(req.Split) == export.SplitChapters)
	}
	if out == "" {
		out, err = wruntime.SaveFileDialog(a.ctx, wruntime.SaveDialogOptions{DefaultFilename: book.Title + info.Ext})
		if err != nil || out == "" {
			return nil, err
		}
	}
	opts := export.Options{Format: info.Format, Bitrate: req.Bitrate, Split: export.Split(req.Split),
		Subtitles: export.Subtitles(req.Subtitles), Logger: a.log,
		Progress: func(done float64) { a.emit("export", map[string]any{"projectId": req.ProjectID, "progress": done}) }}
	if req.Loudness != "" && req.Loudness != "off" {
		if opts.Loudness, err = audio.PresetByName(req.Loudness); err != nil {
			return nil, err
		}
	}
	res, err := export.Export(a.bg(), book, out, opts)
	if err != nil {
		return nil, err
	}
	return res.Paths(), nil
}

// bg is the context of backend calls: the app's lifetime.
func (a *App) bg() context.Context {
	if a.ctx != nil {
		return a.ctx
	}
	return context.Background()
}

// closeTimeout bounds how long quitting waits for running segments.
const closeTimeout = 5 * time.Second
