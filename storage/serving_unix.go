//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// LockServing marks the database at path as served by this process until
// release is called: a second server on the same file would send every
// delivery twice, and a restore would pull the file from under it. The
// mark is an advisory lock on a file beside the database, which the kernel
// lifts if the process dies.
func LockServing(path string) (release func() error, err error) {
	f, err := os.OpenFile(path+".serving", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrServing)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f.Close, nil
}
