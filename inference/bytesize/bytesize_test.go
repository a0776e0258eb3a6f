package bytesize

import "testing"

func TestSizesReadAsPeopleWriteThem(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1023: "1023 bytes", 1024: "1.0 KiB", 32 << 20: "32.0 MiB",
		1260704979: "1.17 GiB", 3_400_000_000: "3.17 GiB",
	} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
	if got := FormatU(24 << 30); got != "24.00 GiB" {
		t.Errorf("FormatU = %q", got)
	}
}
