package agent

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadFrame: the control socket's frame reader never panics, never
// returns more than MaxFrame bytes or an unknown type, reuses the buffer it
// is given when it is large enough, and what it accepts writes back to the
// same bytes. Run it with
//
//	go test ./internal/agent -run '^$' -fuzz '^FuzzReadFrame$' -fuzztime 20s
func FuzzReadFrame(f *testing.F) {
	frame := func(typ byte, payload string) []byte {
		var b bytes.Buffer
		if err := writeFrame(&b, typ, []byte(payload)); err != nil {
			panic(err)
		}
		return b.Bytes()
	}
	f.Add(frame(frameRequest, `{"method":"agent.status"}`), 0)
	f.Add(append(frame(frameData, "abc"), frame(frameEnd, "")...), 16)
	f.Add(frame(frameResult, `{}`), 1)
	f.Add(frame(frameError, `{"kind":"usage","message":"x"}`), 0)
	f.Add([]byte{'Q', 0xff, 0xff, 0xff, 0xff}, 0)
	f.Add([]byte{'Z', 0, 0, 0, 0}, 0)
	f.Add([]byte{'D', 0, 0, 0, 9, 'x'}, 64)
	f.Add([]byte{'D', 0, 0}, 0)
	f.Fuzz(func(t *testing.T, data []byte, bufCap int) {
		buf := make([]byte, 0, bufCap&0xffff)
		r := bytes.NewReader(data)
		typ, p, err := readFrame(r, buf)
		if err != nil {
			if !errors.Is(err, ErrFrame) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		switch typ {
		case frameRequest, frameData, frameEnd, frameResult, frameError:
		default:
			t.Fatalf("type %d accepted", typ)
		}
		if len(p) > frameLimit(typ) {
			t.Fatalf("%d-byte payload accepted", len(p))
		}
		if len(p) > 0 && len(p) <= cap(buf) && &p[0] != &buf[:1][0] {
			t.Fatal("a large enough buffer was not reused")
		}
		consumed := len(data) - r.Len()
		var back bytes.Buffer
		if err := writeFrame(&back, typ, p); err != nil {
			t.Fatalf("an accepted frame does not write: %v", err)
		}
		if !bytes.Equal(back.Bytes(), data[:consumed]) {
			t.Fatalf("round trip: read %x, wrote %x", data[:consumed], back.Bytes())
		}
	})
}
