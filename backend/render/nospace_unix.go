//go:build !windows

package render

import (
	"errors"
	"syscall"
)

// isNoSpace reports a full disk (ENOSPC) or a used-up quota (EDQUOT).
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
