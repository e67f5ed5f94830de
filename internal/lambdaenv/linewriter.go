package lambdaenv

import (
	"bytes"
	"io"
	"sync"
)

// maxLine is the longest line held back waiting for its newline; longer ones are written in parts.
const maxLine = 64 << 10

// syncWriter serialises whole-line writes of several processes to one io.Writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) writeLine(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(b)
}

// lineWriter prefixes every line a process writes and hands complete lines to a syncWriter, so the
// output of concurrent processes interleaves by line, never within one.
type lineWriter struct {
	mu     sync.Mutex
	dst    *syncWriter
	prefix string
	buf    []byte
}

func newLineWriter(dst *syncWriter, prefix string) *lineWriter {
	return &lineWriter{dst: dst, prefix: prefix}
}

// Write implements io.Writer; it never fails.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) >= maxLine {
		l.emit(l.buf)
		l.buf = l.buf[:0]
	}
	if len(l.buf) == 0 {
		l.buf = nil
	}
	return len(p), nil
}

// Flush writes a pending partial line.
func (l *lineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *lineWriter) emit(line []byte) {
	out := make([]byte, 0, len(l.prefix)+len(line)+1)
	out = append(out, l.prefix...)
	out = append(out, line...)
	out = append(out, '\n')
	l.dst.writeLine(out)
}
