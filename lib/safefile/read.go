package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotRegular is returned for a FIFO, device, socket or directory where a
// file was expected: reading one may block for ever or never end.
var ErrNotRegular = errors.New("not a regular file")

// TooLargeError is returned for a file longer than a reader's limit.
type TooLargeError struct{ Max int64 }

func (e *TooLargeError) Error() string { return "larger than " + Size(e.Max) }

// Read returns the content of the regular file at path, or an error naming
// path when it is not a regular file or holds more than max bytes. It never
// blocks on a FIFO and never reads more than max+1 bytes, whatever the file
// claims its size is.
func Read(path string, max int64) ([]byte, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, path, max)
}

// Open opens the regular file at path for reading, for a reader that
// streams it (a snapshot) rather than holding it whole. It never blocks on
// a FIFO; anything but a regular file is refused with ErrNotRegular.
func Open(path string) (*os.File, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = notRegular(path, st.Mode())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFS is Read for name in fsys. Give it DirFS rather than os.DirFS so
// that opening a FIFO cannot block.
func ReadFS(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, name, max)
}

// DirFS is os.DirFS whose Open does not block on a FIFO, so that ReadFS can
// refuse it after looking at the open file.
func DirFS(dir string) fs.FS { return dirFS(dir) }

type dirFS string

func (d dirFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := openNonBlocking(filepath.Join(string(d), filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	return f, nil
}

func openNonBlocking(path string) (*os.File, error) {
	// O_NONBLOCK only matters for a FIFO (open would wait for a writer);
	// regular files ignore it, and anything else is refused after fstat.
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// ReadAll is Read for a file already open: it checks the open file itself
// (no window between a stat and the open), then reads at most max+1 bytes.
// name is for errors.
func ReadAll(f fs.File, name string, max int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(name, st.Mode())
	}
	tooLarge := &fs.PathError{Op: "read", Path: name, Err: &TooLargeError{Max: max}}
	if st.Size() > max {
		return nil, tooLarge
	}
	// The size is a hint: a file may grow while it is read, and /proc or
	// sysfs files claim zero.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.Unwrap(err)}
	}
	if int64(len(b)) > max {
		return nil, tooLarge
	}
	return b, nil
}

func notRegular(name string, m fs.FileMode) error {
	return &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(m))}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "mode " + m.String()
}

// Size renders a byte count the way limits are written: 1 MiB, 64 KiB.
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
