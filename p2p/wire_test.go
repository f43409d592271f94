package p2p

import (
	"bytes"
	"testing"
	"testing/iotest"
)

// Frames of every size read back whole, one after the other, from a
// reader that hands out a few bytes at a time: a payload read as it
// arrives never takes bytes of the next frame.
func TestFramesReadBackToBack(t *testing.T) {
	var b bytes.Buffer
	sizes := []int{0, 1, firstRead - 1, firstRead, firstRead + 1, 3*firstRead + 7, 100000, MaxData}
	for i, n := range sizes {
		writeFrame(&b, kindData, bytes.Repeat([]byte{byte(i)}, n))
	}
	r := iotest.HalfReader(&b)
	for i, n := range sizes {
		f, err := readFrame(r)
		if err != nil || len(f.payload) != n || (n > 0 && (f.payload[0] != byte(i) || f.payload[n-1] != byte(i))) {
			t.Fatalf("frame %d of %d bytes: %d bytes, %v", i, n, len(f.payload), err)
		}
	}
}
