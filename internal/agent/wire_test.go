package agent

import (
	"bytes"
	"errors"
	"testing"
)

// A result may outgrow a data frame (secrets env of many secrets); data and
// requests may not.
func TestFrameLimits(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3*MaxFrame)
	var b bytes.Buffer
	if err := writeFrame(&b, frameResult, big); err != nil {
		t.Fatalf("a 3 MiB result: %v", err)
	}
	typ, p, err := readFrame(&b, nil)
	if err != nil || typ != frameResult || len(p) != len(big) {
		t.Fatalf("read back: %c %d %v", typ, len(p), err)
	}
	for _, typ := range []byte{frameData, frameRequest, frameError} {
		if err := writeFrame(&b, typ, big); !errors.Is(err, ErrFrame) {
			t.Errorf("a 3 MiB %c frame: %v", typ, err)
		}
	}
	hdr := []byte{frameData, 0, 0x20, 0, 1} // 2 MiB + 1
	if _, _, err := readFrame(bytes.NewReader(hdr), nil); !errors.Is(err, ErrFrame) {
		t.Fatalf("an oversized data frame was read: %v", err)
	}
}
