package nvml

import (
	"errors"
	"os"
	"testing"
)

// On a machine without an NVIDIA driver Read must say so with ErrNoDriver, not crash; on a
// machine with one it must list at least one GPU with plausible memory figures.
func TestReadReportsTheDriverOrItsAbsence(t *testing.T) {
	info, err := Read()
	_, statErr := os.Stat("/dev/nvidiactl")
	if statErr != nil {
		if !errors.Is(err, ErrNoDriver) && err != nil {
			t.Logf("no /dev/nvidiactl; Read error: %v", err)
		}
		if err == nil && len(info.Devices) > 0 {
			t.Fatalf("no NVIDIA device node, yet NVML listed %v", info.Devices)
		}
		if err == nil {
			t.Fatalf("Read returned no error and no devices on a machine without the driver")
		}
		return
	}
	if err != nil {
		t.Fatalf("NVIDIA device present but Read failed: %v", err)
	}
	if len(info.Devices) == 0 {
		t.Fatal("driver loaded but no GPU listed")
	}
	for _, d := range info.Devices {
		if d.TotalBytes == 0 || d.FreeBytes > d.TotalBytes {
			t.Errorf("implausible memory for %+v", d)
		}
	}
}
