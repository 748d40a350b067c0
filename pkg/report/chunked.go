package report

// chunked is a list that grows a chunk at a time and never moves what it
// holds. What a report keeps of a million users grows to hundreds of
// megabytes; as one slice it would be copied at every growth, and each
// larger array zeroed and faulted in while the last became garbage.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkBits = 12

const chunkSize = 1 << chunkBits

func (c *chunked[T]) add(v T) {
	if c.n&(chunkSize-1) == 0 {
		c.chunks = append(c.chunks, make([]T, 0, chunkSize))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
}

func (c *chunked[T]) len() int { return c.n }

// at is the i-th value, for changing it in place.
func (c *chunked[T]) at(i int) *T { return &c.chunks[i>>chunkBits][i&(chunkSize-1)] }

// all yields every value with its index, in order.
func (c *chunked[T]) all(yield func(int, *T) bool) {
	i := 0
	for _, chunk := range c.chunks {
		for k := range chunk {
			if !yield(i, &chunk[k]) {
				return
			}
			i++
		}
	}
}

// places are users listed, by their place in the snapshot.
type places = chunked[int32]
