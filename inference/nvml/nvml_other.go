//go:build !(linux && cgo) && !windows

package nvml

import "fmt"

// Read reports that NVML is not supported on this platform or build.
func Read() (Info, error) {
	return Info{}, fmt.Errorf("%w: NVML is read on Linux (cgo builds) and Windows only", ErrNoDriver)
}
