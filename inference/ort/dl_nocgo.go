//go:build !cgo && !windows

package ort

import "errors"

func tryLoad(name string) error {
	return errors.New("cannot check without cgo (this build has CGO_ENABLED=0)")
}
