package fs

import (
	"errors"
	"log"
	"syscall"

	"github.com/pkfs/pkfs/vaultstore"
)

var errnos = []struct {
	err   error
	errno syscall.Errno
}{
	{vaultstore.ErrNotFound, syscall.ENOENT},
	{vaultstore.ErrVaultNotFound, syscall.ENOENT},
	{vaultstore.ErrRevision, syscall.ENOENT},
	{vaultstore.ErrObjectNotFound, syscall.EIO},
	{vaultstore.ErrExists, syscall.EEXIST},
	{vaultstore.ErrVaultExists, syscall.EEXIST},
	{vaultstore.ErrNotDir, syscall.ENOTDIR},
	{vaultstore.ErrIsDir, syscall.EISDIR},
	{vaultstore.ErrNotEmpty, syscall.ENOTEMPTY},
	{vaultstore.ErrInvalidPath, syscall.EINVAL},
	{vaultstore.ErrInvalidName, syscall.EINVAL},
	{vaultstore.ErrInvalidRename, syscall.EINVAL},
	{vaultstore.ErrAmbiguous, syscall.ENOENT},
	{vaultstore.ErrTooLarge, syscall.EFBIG},
	{vaultstore.ErrReadOnly, syscall.EROFS},
	{vaultstore.ErrCorrupt, syscall.EIO},
	{vaultstore.ErrClosed, syscall.EIO},
}

// errno turns an error of the layers below into the errno the kernel gets.
// This is the only place where that mapping is made. Unexpected errors are
// logged (with the operation, never a path or a secret) and become EIO.
func errno(op string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	for _, m := range errnos {
		if errors.Is(err, m.err) {
			if m.errno == syscall.EIO {
				log.Printf("pkfs: %s: damaged data: %v", op, redact(err))
			}
			return m.errno
		}
	}
	log.Printf("pkfs: %s: %v", op, redact(err))
	return syscall.EIO
}

// redact keeps an error's class but not its text, which may name paths.
func redact(err error) string {
	switch {
	case errors.Is(err, vaultstore.ErrCorrupt):
		return vaultstore.ErrCorrupt.Error()
	default:
		return "internal error (" + errorType(err) + ")"
	}
}

func errorType(err error) string {
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(err) {
		err = u
	}
	return err.Error()
}
