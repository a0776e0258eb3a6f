package gpu

import (
	"strings"
	"testing"
)

func TestAnOldDriverIsNamedWithWhatToDo(t *testing.T) {
	if s := oldDriver("12.4"); !strings.Contains(s, "CUDA 12.4") || !strings.Contains(s, "update the driver") {
		t.Errorf("12.4: %q", s)
	}
	for _, v := range []string{"13.0", "13.1", "14.0", ""} {
		if s := oldDriver(v); s != "" {
			t.Errorf("%q: %q", v, s)
		}
	}
}
