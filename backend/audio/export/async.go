package export

import "sync"

// asyncEncoder runs an encoder in its own goroutine, so encoding (lame and FLAC are the costliest
// stages of an export) overlaps on another core with loading, resampling and limiting. Write
// copies the samples into one of a few reused buffers and returns; an encoding error comes back
// from a later Write or from Close. Close or abort ends the goroutine.
type asyncEncoder struct {
	enc  encoder
	work chan []float32
	free chan []float32
	done chan struct{}

	mu     sync.Mutex
	err    error
	closed bool
}

const asyncBuffers = 8

func newAsyncEncoder(enc encoder) *asyncEncoder {
	a := &asyncEncoder{enc: enc, work: make(chan []float32, asyncBuffers),
		free: make(chan []float32, asyncBuffers), done: make(chan struct{})}
	for range asyncBuffers {
		a.free <- make([]float32, 0, 8192)
	}
	go a.run()
	return a
}

func (a *asyncEncoder) run() {
	defer close(a.done)
	for p := range a.work {
		if a.failed() == nil {
			if err := a.enc.Write(p); err != nil {
				a.mu.Lock()
				a.err = err
				a.mu.Unlock()
			}
		}
		a.free <- p[:0]
	}
}

func (a *asyncEncoder) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *asyncEncoder) Write(p []float32) error {
	if err := a.failed(); err != nil {
		return err
	}
	buf := <-a.free
	a.work <- append(buf, p...)
	return nil
}

// Close waits for the queued samples to be encoded, then finishes the file.
func (a *asyncEncoder) Close() error {
	a.stop()
	if err := a.failed(); err != nil {
		return err
	}
	return a.enc.Close()
}

// abort ends the goroutine without finishing the file.
func (a *asyncEncoder) abort() { a.stop() }

func (a *asyncEncoder) stop() {
	a.mu.Lock()
	closed := a.closed
	a.closed = true
	a.mu.Unlock()
	if !closed {
		close(a.work)
	}
	<-a.done
}
