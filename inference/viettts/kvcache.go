package viettts

import (
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/compiler"
)

// cacheChunk is how many positions of room the cache gains at a time. Each growth lays the
// whole cache out again, so a larger chunk means fewer copies; llm_decode reads every position of
// room (the empty ones masked), so a smaller chunk means less wasted reading. 64 positions are
// 2.5 s of speech: a 600-position cache is laid out again every 64 steps (0.3 % of a step's time
// at full size), and reads at most 63 empty positions.
const cacheChunk = 64

// kvCache is the host copy of the LLM's key/value cache in the layout llm_decode reads: for each
// layer its keys, then its values, each (heads, c, dim) in one buffer, where c is the room in
// positions and the first k of each head's c rows are filled. A decode step reads the first k and
// its new row is written in place at k; only when the room runs out is the buffer laid out again
// for c+cacheChunk, in place. Rows from k to c are zeros (llm_decode gives them weight 0, which
// needs them finite).
type kvCache struct {
	buf                    []byte // room for the segment's longest cache, from Engine.cacheBuffer
	layers, heads, dim, el int    // dim: values per key (or value) row; el: bytes per value
	c, k                   int

	// views are llm_decode's 2·layers cache inputs over buf for room viewsFor (nil until asked).
	views    []*onnx.CustomDataTensor
	viewsFor int
}

// cacheBytes is the buffer size a cache needs for maxK positions.
func cacheBytes(layers, heads, dim, el, maxK int) int {
	return 2 * layers * heads * roundUp(maxK, cacheChunk) * dim * el
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// row is the size in bytes of one key (or value) row.
func (c *kvCache) row() int { return c.dim * c.el }

// blocks is the number of (region, head) blocks: keys and values of every layer, per head.
func (c *kvCache) blocks() int { return 2 * c.layers * c.heads }

// fill lays out k positions of prefill's cache, kv as (layers, heads, k, 2·dim): each row holds a
// key and then a value.
func (c *kvCache) fill(kv []byte, k int) error {
	room := roundUp(max(k, 1), cacheChunk)
	if c.blocks()*room*c.row() > len(c.buf) {
		return fmt.Errorf("llm cache: %d positions do not fit the buffer", k)
	}
	c.c, c.k = room, k
	compiler.LayOutCache(c.buf[:c.blocks()*room*c.row()], kv, c.layers, c.heads, c.dim, c.el, k, room)
	return nil
}

// block returns layer l's keys (kind 0) or values (kind 1) of head h: c rows.
func (c *kvCache) block(l, kind, h int) []byte {
	size := c.c * c.row()
	at := ((2*l+kind)*c.heads + h) * size
	return c.buf[at : at+size]
}

// region returns input i of llm_decode's cache inputs (layer i/2, keys for even i, values for odd),
// (heads, c, dim).
func (c *kvCache) region(i int) []byte {
	size := c.heads * c.c * c.row()
	return c.buf[i*size : (i+1)*size]
}

// append writes one position, rows as llm_decode's new_kv (layers, heads, 1, 2·dim), at k,
// making room first if there is none left.
func (c *kvCache) append(rows []byte) error {
	if c.k == c.c {
		if err := c.grow(c.c + cacheChunk); err != nil {
			return err
		}
	}
	row := c.row()
	for l := range c.layers {
		for h := range c.heads {
			src := rows[(l*c.heads+h)*2*row:]
			copy(c.block(l, 0, h)[c.k*row:(c.k+1)*row], src[:row])
			copy(c.block(l, 1, h)[c.k*row:(c.k+1)*row], src[row:2*row])
		}
	}
	c.k++
	return nil
}

// grow lays the buffer out for room positions, in place: each block moves up to its new start,
// the last first, so that no block overwrites one not yet moved, and the new room is cleared.
func (c *kvCache) grow(room int) error {
	row := c.row()
	if c.blocks()*room*row > len(c.buf) {
		return fmt.Errorf("llm cache: %d positions do not fit the buffer", room)
	}
	old := c.c * row
	size := room * row
	for b := c.blocks() - 1; b >= 0; b-- {
		dst := c.buf[b*size : (b+1)*size]
		copy(dst[:c.k*row], c.buf[b*old:b*old+c.k*row])
		clear(dst[c.k*row:])
	}
	c.c = room
	return nil
}

// inputs sets llm_decode's cache inputs in in (indexed as the session's inputs), making new views
// of the buffer when the room has changed since the last call.
func (c *kvCache) inputs(e *Engine, in []onnx.Value) error {
	if c.views == nil || c.viewsFor != c.c {
		c.close()
		shape := onnx.NewShape(int64(c.heads), int64(c.c), int64(c.dim))
		for i := range 2 * c.layers {
			t, err := onnx.NewCustomDataTensor(shape, c.region(i), e.kvType)
			if err != nil {
				c.close()
				return inference.Errorf(inference.ClassInstanceDead, "create cache tensor: %w", err)
			}
			c.views = append(c.views, t)
		}
		c.viewsFor = c.c
	}
	for i, t := range c.views {
		in[e.cacheIn[i]] = t
	}
	return nil
}

// close destroys the views.
func (c *kvCache) close() {
	for _, t := range c.views {
		t.Destroy()
	}
	c.views = nil
}
