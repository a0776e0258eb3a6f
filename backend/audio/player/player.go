// Package player plays a queue of segments through the sound card with beep's speaker: play from
// any segment, pause, seek, stop, rate and volume, gapless from one segment to the next, and
// playback that starts while later segments are still being synthesized (the player waits, in
// silence, for a segment that is not ready and says so in an event).
//
// States:
//
//	stopped ──Play──► playing ──Pause──► paused ──Resume──► playing
//	   ▲                 │  ▲                                  │
//	   └──Stop / end─────┘  └──── segment ready ◄── waiting ◄──┘ (segment not synthesized yet)
//
// beep's speaker is one per process and cannot be opened again after Close, so a program makes
// one Player and keeps it.
package player

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gopxl/beep/v2"
	"github.com/gopxl/beep/v2/speaker"

	"github.com/viettts-studio/studio/backend/audio"
)

// ErrNoDevice is returned by Open when there is no usable sound device.
var ErrNoDevice = errors.New("no sound device")

// Item is one segment in the play queue.
type Item struct {
	ID string
	// Audio loads the samples (mono, audio.Rate). It may block until the segment is synthesized.
	Audio audio.Source
	// Pause is the silence played after the segment.
	Pause time.Duration
	// Trim, if enabled, cuts the segment's quiet edges as export does.
	Trim audio.Trim
}

// Items builds the play queue of a book with the pauses an export of it would have: the head
// silence of a chapter is played after the previous chapter's closing pause.
func Items(book *audio.Book, s audio.Settings) []Item {
	var items []Item
	for ci, c := range book.Chapters {
		for si, seg := range c.Segments {
			last := si == len(c.Segments)-1
			pause := s.Pauses.After(seg.Break, last)
			if last && ci < len(book.Chapters)-1 {
				pause += s.Pauses.HeadPause()
			}
			items = append(items, Item{ID: seg.ID, Audio: seg.Audio, Pause: pause, Trim: s.Trim})
		}
	}
	return items
}

// EventKind says what happened.
type EventKind int

const (
	// Segment: the item at Index starts to be heard (after play, a seek, or the previous item).
	Segment EventKind = iota + 1
	// Position: periodic position while playing (about ten a second).
	Position
	// Waiting: the item at Index is not synthesized yet; playback waits in silence.
	Waiting
	// Paused, Resumed, Stopped: the state changed by a command.
	Paused
	Resumed
	Stopped
	// Ended: the queue played to its end.
	Ended
	// LoadFailed: the item at Index could not be loaded (Err says why); playback skips it.
	LoadFailed
)

func (k EventKind) String() string {
	return [...]string{"?", "segment", "position", "waiting", "paused", "resumed", "stopped", "ended", "load failed"}[k]
}

// Event reports playback. Offset is the position inside the item (its pause included).
type Event struct {
	Kind   EventKind
	Index  int
	ID     string
	Offset time.Duration
	Err    error

	at int64 // output sample the event belongs to; delivered once the device has played it
}

// LogValue prints an event compactly in logs.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("kind", e.Kind.String()), slog.Int("index", e.Index), slog.String("id", e.ID),
		slog.Duration("offset", e.Offset)}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

// Options configure a Player.
type Options struct {
	// Buffer is the speaker's buffer: latency against robustness. 0 means 100 ms.
	Buffer time.Duration
	// StartTimeout is how long Open waits for the device to ask for its first samples. 0 means 3 s.
	StartTimeout time.Duration
	// Lookahead is how many items after the current one are loaded ahead. 0 means 2.
	Lookahead int
	// OnEvent receives events in order, from the player's own goroutine; it must not call back
	// into the Player synchronously for long (it delays later events, never the sound).
	OnEvent func(Event)
	Logger  *slog.Logger
}

// Player plays a queue of items. Its methods are safe for concurrent use.
type Player struct {
	o     Options
	log   *slog.Logger
	probe func() error // seam: the device check (tests disable it to exercise the watchdog)

	mu       sync.Mutex
	items    []Item
	cache    map[int][]float32
	loads    map[int]context.CancelFunc
	playing  bool
	paused   bool
	waiting  bool
	cur      int
	pos      float64 // sample position in the current item (pause included)
	rate     float64
	st       *stretcher // pitch-preserving speed change, used when rate != 1
	volume   float64
	sinceEv  int
	events   []Event
	opened   bool
	closed   bool
	streamed int64         // samples handed to the speaker so far
	endedAt  int64         // streamed when the queue last ended (-1: not ended)
	pulled   chan struct{} // closed and replaced after every Stream call: a broadcast to waiters

	loadSig chan struct{}
	evSig   chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a Player; Open connects it to the sound device.
func New(o Options) *Player {
	if o.Buffer <= 0 {
		o.Buffer = 100 * time.Millisecond
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 3 * time.Second
	}
	if o.Lookahead <= 0 {
		o.Lookahead = 2
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Player{
		o: o, log: log, probe: probeDevice,
		cache: map[int][]float32{}, loads: map[int]context.CancelFunc{},
		rate: 1, volume: 1, st: newStretcher(audio.Rate),
		endedAt: -1, pulled: make(chan struct{}),
		loadSig: make(chan struct{}, 1), evSig: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel,
	}
}

// Open starts the speaker at audio.Rate (the system's mixer converts to the device's rate) and
// checks that the device really plays: ALSA is probed first, and then the device must ask for
// samples within StartTimeout. Either failure returns an error wrapping ErrNoDevice. After a
// failed probe Open may be called again (a device was plugged in); after the speaker started,
// not (beep's speaker starts once per process).
func (p *Player) Open() error {
	p.mu.Lock()
	if p.opened || p.closed {
		p.mu.Unlock()
		return errors.New("player: Open called twice (the speaker can be opened once per process)")
	}
	p.opened = true
	p.mu.Unlock()
	if p.probe != nil {
		if err := p.probe(); err != nil {
			p.mu.Lock()
			p.opened = false // the speaker was not touched: Open may be tried again
			p.mu.Unlock()
			return err
		}
	}
	sr := beep.SampleRate(audio.Rate)
	if err := speaker.Init(sr, sr.N(p.o.Buffer)); err != nil {
		return fmt.Errorf("%w: the speaker did not start: %v", ErrNoDevice, err)
	}
	p.wg.Add(2)
	go p.loader()
	go p.dispatcher()
	speaker.Play(streamer{p})
	// oto fills its own buffer (half the speaker's) as soon as playback starts, device or not; only
	// a device that plays asks for more. So the device counts as alive once twice the whole
	// buffer has been pulled: 200 ms of silence at the default buffer, at real-time pace.
	need := 2 * audio.Samples(p.o.Buffer)
	t := time.NewTimer(p.o.StartTimeout)
	defer t.Stop()
	for {
		p.mu.Lock()
		alive, pulled := p.streamed >= need, p.pulled
		p.mu.Unlock()
		if alive {
			p.log.Info("player: sound device open", "rate", audio.Rate, "buffer", p.o.Buffer)
			return nil
		}
		select {
		case <-pulled:
		case <-t.C:
			speaker.Clear()
			p.stopWorkers()
			return fmt.Errorf("%w: the sound device accepted the stream but does not play it (nothing "+
				"asked for audio within %v); check the output device in the system's sound settings",
				ErrNoDevice, p.o.StartTimeout)
		}
	}
}

// Close stops playback and the player's goroutines and closes the speaker.
func (p *Player) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.playing = false
	opened := p.opened
	p.mu.Unlock()
	if opened {
		speaker.Clear()
		speaker.Close()
	}
	p.stopWorkers()
	return nil
}

func (p *Player) stopWorkers() {
	p.cancel()
	p.wg.Wait()
}

// Drain waits until the end of the queue has left the speaker's buffers, so that closing the
// player, or the program, does not cut the last words. It returns at once if the queue has not
// ended, and ctx's error if ctx ends first.
func (p *Player) Drain(ctx context.Context) error {
	need := int64(2 * audio.Samples(p.o.Buffer)) // the driver's and the player's halves, twice over
	for {
		p.mu.Lock()
		done, pulled := p.endedAt < 0 || p.streamed >= p.endedAt+need, p.pulled
		p.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-pulled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Load replaces the queue and stops playback.
func (p *Player) Load(items []Item) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items = append([]Item(nil), items...)
	for i, cancel := range p.loads {
		cancel()
		delete(p.loads, i)
	}
	clear(p.cache)
	p.playing, p.paused, p.waiting = false, false, false
	p.cur, p.pos = 0, 0
}

// Append adds items at the end of the queue (a book still being synthesized grows).
func (p *Player) Append(items ...Item) {
	p.mu.Lock()
	p.items = append(p.items, items...)
	p.mu.Unlock()
	p.kickLoader()
}

// Play starts playing from the item at index from ("play from this sentence").
func (p *Player) Play(from int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if from < 0 || from >= len(p.items) {
		return fmt.Errorf("player: no item %d in a queue of %d", from, len(p.items))
	}
	p.playing, p.paused, p.endedAt = true, false, -1
	p.moveTo(from, 0)
	return nil
}

// Pause holds playback where it is.
func (p *Player) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.playing && !p.paused {
		p.paused = true
		p.emit(Paused)
	}
}

// Resume continues after Pause.
func (p *Player) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.playing && p.paused {
		p.paused = false
		p.emit(Resumed)
	}
}

// Stop ends playback and goes back to the first item.
func (p *Player) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.playing {
		p.playing, p.paused, p.waiting = false, false, false
		p.emit(Stopped)
	}
}

// Seek moves to offset inside the item at index; playing or paused state is kept.
func (p *Player) Seek(index int, offset time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if index < 0 || index >= len(p.items) {
		return fmt.Errorf("player: no item %d in a queue of %d", index, len(p.items))
	}
	if offset < 0 {
		offset = 0
	}
	p.moveTo(index, float64(audio.Samples(offset)))
	return nil
}

// SetRate sets the playback speed, 0.5 to 2, keeping the pitch (WSOLA time stretching; at 1
// the samples play untouched).
func (p *Player) SetRate(r float64) error {
	if r < 0.5 || r > 2 {
		return fmt.Errorf("player: rate %.2f is outside 0.5-2", r)
	}
	p.mu.Lock()
	if r != p.rate {
		p.rate = r
		p.st.reset()
	}
	p.mu.Unlock()
	return nil
}

// SetVolume sets the gain, 0 (silent) to 2 (+6 dB; loud passages may clip).
func (p *Player) SetVolume(v float64) error {
	if v < 0 || v > 2 {
		return fmt.Errorf("player: volume %.2f is outside 0-2", v)
	}
	p.mu.Lock()
	p.volume = v
	p.mu.Unlock()
	return nil
}

// State is a snapshot of the player.
type State struct {
	Playing, Paused, Waiting bool
	Index                    int
	Offset                   time.Duration
	Rate, Volume             float64
}

// State returns where the player is.
func (p *Player) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return State{Playing: p.playing, Paused: p.paused, Waiting: p.waiting, Index: p.cur,
		Offset: audio.Duration(int64(p.pos)), Rate: p.rate, Volume: p.volume}
}

// moveTo jumps to item i at sample pos; p.mu is held.
func (p *Player) moveTo(i int, pos float64) {
	p.cur, p.pos, p.waiting, p.sinceEv = i, pos, false, 0
	p.st.reset()
	p.emit(Segment)
	p.kickLoader()
}

// emit queues an event for the dispatcher; p.mu is held.
func (p *Player) emit(k EventKind) {
	e := Event{Kind: k, Index: p.cur, Offset: audio.Duration(int64(p.pos)), at: p.streamed}
	if p.cur < len(p.items) {
		e.ID = p.items[p.cur].ID
	}
	if k == Position && len(p.events) > 0 && p.events[len(p.events)-1].Kind == Position {
		p.events[len(p.events)-1] = e // a listener that lags needs only the latest position
	} else {
		p.events = append(p.events, e)
	}
	select {
	case p.evSig <- struct{}{}:
	default:
	}
}

// dispatcher delivers events when they are heard: the streamer runs ahead of the loudspeaker by
// the speaker's buffer, so an event made at output sample n waits until the device has pulled
// n + buffer samples (about 100 ms), which keeps highlighting in step with the voice.
func (p *Player) dispatcher() {
	defer p.wg.Done()
	for {
		ready, pending, pulled := p.due()
		if p.o.OnEvent != nil {
			for _, e := range ready {
				p.o.OnEvent(e)
			}
		}
		wake := p.evSig
		if pending {
			wake = nil
		}
		select {
		case <-p.ctx.Done():
			return
		case <-wake:
		case <-pulled:
			if !pending {
				continue
			}
		}
	}
}

// due takes the events whose audio has reached the speaker; pending says whether others wait, and
// pulled is closed at the next pull.
func (p *Player) due() (ready []Event, pending bool, pulled chan struct{}) {
	latency := audio.Samples(p.o.Buffer)
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for n < len(p.events) && p.events[n].at+latency <= p.streamed {
		n++
	}
	ready = append([]Event(nil), p.events[:n]...)
	p.events = p.events[n:]
	return ready, len(p.events) > 0, p.pulled
}

func (p *Player) kickLoader() {
	select {
	case p.loadSig <- struct{}{}:
	default:
	}
}

// loader keeps the current item and Lookahead items after it loaded, each load in its own
// goroutine so a segment still being synthesized does not hold up the others, and cancels loads
// that a seek made pointless.
func (p *Player) loader() {
	defer p.wg.Done()
	var loads sync.WaitGroup
	defer loads.Wait()
	for {
		select {
		case <-p.ctx.Done():
			p.mu.Lock()
			for _, cancel := range p.loads {
				cancel()
			}
			p.mu.Unlock()
			return
		case <-p.loadSig:
		}
		p.mu.Lock()
		lo, hi := p.cur, min(p.cur+p.o.Lookahead, len(p.items)-1)
		for i, cancel := range p.loads {
			if i < lo || i > hi {
				cancel()
				delete(p.loads, i)
			}
		}
		for i := range p.cache {
			if i < lo-1 || i > hi {
				delete(p.cache, i)
			}
		}
		for i := lo; i <= hi; i++ {
			if _, ok := p.cache[i]; ok {
				continue
			}
			if _, ok := p.loads[i]; ok {
				continue
			}
			ctx, cancel := context.WithCancel(p.ctx)
			p.loads[i] = cancel
			it := p.items[i]
			loads.Add(1)
			go func() {
				defer loads.Done()
				defer cancel()
				pcm, err := it.Audio.PCM(ctx)
				if ctx.Err() != nil {
					return
				}
				p.mu.Lock()
				defer p.mu.Unlock()
				if p.loads[i] == nil || i >= len(p.items) || p.items[i].ID != it.ID {
					return // replaced meanwhile
				}
				delete(p.loads, i)
				if err != nil {
					p.log.Warn("player: segment failed to load", "index", i, "id", it.ID, "err", err)
					pcm = nil // played as its pause only
					e := Event{Kind: LoadFailed, Index: i, ID: it.ID, Err: err, at: p.streamed}
					p.events = append(p.events, e)
					select {
					case p.evSig <- struct{}{}:
					default:
					}
				}
				p.cache[i] = audio.TrimSegment(pcm, it.Trim)
			}()
		}
		p.mu.Unlock()
	}
}

// streamer is what beep's speaker pulls from; it never blocks.
type streamer struct{ p *Player }

func (s streamer) Err() error { return nil }

func (s streamer) Stream(out [][2]float64) (int, bool) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, false
	}
	i := 0
	period := audio.Rate / 10
	for i < len(out) && p.playing && !p.paused {
		if p.cur >= len(p.items) {
			p.playing = false
			p.endedAt = p.streamed
			p.emit(Ended)
			break
		}
		pcm, ok := p.cache[p.cur]
		if !ok {
			if !p.waiting {
				p.waiting = true
				p.emit(Waiting)
			}
			p.kickLoader()
			break
		}
		p.waiting = false
		total := float64(len(pcm) + int(audio.Samples(p.items[p.cur].Pause)))
		if p.rate != 1 && len(p.st.out) > 0 {
			// Play what the stretcher has finished.
			n := min(len(out)-i, len(p.st.out))
			for _, v := range p.st.out[:n] {
				v *= p.volume
				out[i] = [2]float64{v, v}
				i++
				p.tick(period)
			}
			p.st.out = p.st.out[:copy(p.st.out, p.st.out[n:])]
			continue
		}
		if p.pos >= total {
			p.pos -= total
			p.st.shift(int(total))
			p.cur++
			p.sinceEv = 0
			if p.cur < len(p.items) {
				p.emit(Segment)
			}
			p.kickLoader()
			continue
		}
		if p.rate != 1 {
			p.st.step(int(p.pos), p.window)
			p.pos += float64(p.st.hop) * p.rate
			continue
		}
		// Rate 1: the samples themselves.
		for ; i < len(out) && p.pos < total; i++ {
			v := at(pcm, int(p.pos)) * p.volume
			out[i] = [2]float64{v, v}
			p.pos++
			p.tick(period)
		}
	}
	p.streamed += int64(len(out) - i)
	for ; i < len(out); i++ {
		out[i] = [2]float64{}
	}
	close(p.pulled)
	p.pulled = make(chan struct{})
	return len(out), true
}

// tick counts one output sample and emits a position event every period; p.mu is held.
func (p *Player) tick(period int) {
	p.streamed++
	if p.sinceEv++; p.sinceEv >= period {
		p.sinceEv = 0
		p.emit(Position)
	}
}

// window appends input samples [lo, hi) to dst, positions relative to the current item: negative
// ones come from the items before it, those past its pause from the items after it, as far as they
// are loaded (silence otherwise); p.mu is held.
func (p *Player) window(lo, hi int, dst []float64) []float64 {
	for i := lo; i < hi; i++ {
		dst = append(dst, p.sampleAt(i))
	}
	return dst
}

func (p *Player) sampleAt(i int) float64 {
	cur := p.cur
	for i < 0 {
		cur--
		pcm, ok := p.cache[cur]
		if cur < 0 || !ok {
			return 0
		}
		i += len(pcm) + int(audio.Samples(p.items[cur].Pause))
	}
	for cur < len(p.items) {
		pcm, ok := p.cache[cur]
		if !ok {
			return 0
		}
		total := len(pcm) + int(audio.Samples(p.items[cur].Pause))
		if i < total {
			return at(pcm, i)
		}
		i -= total
		cur++
	}
	return 0
}

// at is sample k of a segment, silence past its end (the pause).
func at(pcm []float32, k int) float64 {
	if k < len(pcm) {
		return float64(pcm[k])
	}
	return 0
}
