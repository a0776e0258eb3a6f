// Package bytesize writes byte counts for people, in binary units (KiB, MiB, GiB), the way the
// app reports every size: files, downloads, memory.
package bytesize

import "fmt"

// Format writes n as "512 bytes", "3.4 KiB", "1.2 MiB" or "1.17 GiB".
func Format(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// FormatU is Format for unsigned counts (memory sizes).
func FormatU(n uint64) string {
	if n > 1<<62 {
		return fmt.Sprintf("%.0f GiB", float64(n)/(1<<30))
	}
	return Format(int64(n))
}
