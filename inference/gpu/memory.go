package gpu

import (
	"fmt"
	"sync"
	"time"

	"github.com/viettts-studio/studio/inference/nvml"
)

// MemoryReader returns the device memory in use now, in bytes.
type MemoryReader func() (used uint64, err error)

// DeviceMemory reads the memory in use on GPU index through NVML. NVML counts every process on the
// device, so a measurement is only this process's when nothing else runs there.
func DeviceMemory(index int) MemoryReader {
	return func() (uint64, error) {
		info, err := nvml.Read()
		if err != nil {
			return 0, err
		}
		if index >= len(info.Devices) {
			return 0, fmt.Errorf("NVML lists %d GPU(s), so device %d does not exist", len(info.Devices), index)
		}
		return info.Devices[index].UsedBytes, nil
	}
}

// Usage is what a Sampler saw between its start and Stop.
type Usage struct {
	// First is the first reading that worked (normally the one at the start), Peak the highest
	// and Last the latest.
	First, Peak, Last uint64
	Samples           int
	// Err is the first failed reading, if any (the readings before and after it still count).
	Err error
}

// Growth is the peak above the first reading: what the work in between took at its worst.
func (u Usage) Growth() uint64 {
	if u.Peak < u.First {
		return 0
	}
	return u.Peak - u.First
}

// Sampler reads device memory at a fixed interval in its own goroutine and keeps the peak, because
// the peak of a synthesis (the estimator's attention at the longest segment) lasts milliseconds and
// a reading before and after would miss it. Sample starts it; Stop ends it and waits for it.
type Sampler struct {
	read  MemoryReader
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	mu    sync.Mutex
	usage Usage
}

// Sample takes a first reading now and then one every interval until Stop.
func Sample(read MemoryReader, interval time.Duration) *Sampler {
	s := &Sampler{read: read, stop: make(chan struct{}), done: make(chan struct{})}
	s.take()
	go s.loop(interval)
	return s
}

func (s *Sampler) loop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.take()
		case <-s.stop:
			return
		}
	}
}

// take records one reading.
func (s *Sampler) take() {
	used, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.usage.Err == nil {
			s.usage.Err = err
		}
		return
	}
	s.usage.Samples++
	if s.usage.Samples == 1 {
		s.usage.First = used // the first reading that worked
	}
	s.usage.Peak = max(s.usage.Peak, used)
	s.usage.Last = used
}

// Peak returns the usage so far without stopping.
func (s *Sampler) Peak() Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage
}

// Stop ends the sampling, takes a last reading and returns the usage. Calling it again returns the
// same usage.
func (s *Sampler) Stop() Usage {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.take()
	})
	return s.Peak()
}
