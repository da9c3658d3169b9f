package ipam

import "testing"

// byteChooser turns fuzzer bytes into decisions; once they run out every
// decision is 0.
type byteChooser struct{ b []byte }

func (c *byteChooser) intn(n int) int {
	if len(c.b) == 0 || n <= 1 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % n
}

func FuzzOperations(f *testing.F) {
	f.Add([]byte{0, 4, 1, 0, 1, 2, 3, 4, 0, 1, 2, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte("some operations on a few pools, with sharing and requested addresses"))
	f.Add([]byte{0, 3, 1, 1, 0, 0, 2, 1, 2, 0, 5, 5, 5, 5, 5, 5, 5, 5, 3, 3, 3, 3, 3, 3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &byteChooser{b: data}
		if err := runOps(c, len(data)/4+1); err != nil {
			t.Fatal(err)
		}
	})
}
