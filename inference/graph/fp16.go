package graph

import (
	"fmt"
	"slices"
)

// Half describes how ConvertFloat16 turns a finished float32 graph into a half-precision one.
type Half struct {
	// KeepFloat32 names graph inputs and outputs that stay float32 at the boundary: a Cast to
	// float16 follows such an input and a Cast to float32 precedes such an output. Other float32
	// inputs and outputs become float16.
	KeepFloat32 []string
	// Float32Ops lists operator types computed in float32 inside the half graph (for example
	// "LogSoftmax"): their float16 inputs are cast up and their outputs cast back down.
	Float32Ops []string
}

// ConvertFloat16 rewrites the graph so weights are stored and computed in float16, except where h
// says otherwise. Call it once, after the graph is complete and before writing it; the Values
// handed out before the call keep their old float32 types and must not be used to add nodes.
func (b *Builder) ConvertFloat16(h Half) error {
	if b.err != nil {
		return b.err
	}
	keep := map[string]bool{}
	for _, n := range h.KeepFloat32 {
		keep[n] = true
	}
	for name := range keep {
		if !slices.ContainsFunc(b.inputs, func(v valueInfo) bool { return v.name == name }) &&
			!slices.ContainsFunc(b.outputs, func(v valueInfo) bool { return v.name == name }) {
			return b.Fail(fmt.Errorf("ConvertFloat16: %q is not a graph input or output", name)).b.err
		}
	}
	// Every float32 tensor becomes float16; the boundary casts below reintroduce float32 names.
	for name, dt := range b.types {
		if dt == Float {
			b.types[name] = Float16
		}
	}
	for _, t := range b.inits {
		if t.dtype == Float {
			t.dtype = Float16
		}
	}
	rename := func(nodes []node, from, to string) {
		for i := range nodes {
			for j, in := range nodes[i].inputs {
				if in == from {
					nodes[i].inputs[j] = to
				}
			}
		}
	}
	var front, back []node
	for i, in := range b.inputs {
		if in.dtype != Float {
			continue
		}
		if !keep[in.name] {
			b.inputs[i].dtype = Float16
			continue
		}
		half := b.fresh(in.name + "_fp16")
		rename(b.nodes, in.name, half)
		b.types[in.name] = Float
		b.types[half] = Float16
		front = append(front, node{op: "Cast", name: b.fresh("Cast"), inputs: []string{in.name}, outputs: []string{half},
			attrs: []Attr{AttrInt("to", int64(Float16))}})
	}
	for i, out := range b.outputs {
		if out.dtype != Float {
			continue
		}
		if !keep[out.name] {
			b.outputs[i].dtype = Float16
			continue
		}
		half := b.fresh(out.name + "_fp16")
		for j := range b.nodes {
			for k, o := range b.nodes[j].outputs {
				if o == out.name {
					b.nodes[j].outputs[k] = half
				}
			}
		}
		rename(b.nodes, out.name, half)
		b.types[out.name] = Float
		b.types[half] = Float16
		back = append(back, node{op: "Cast", name: b.fresh("Cast"), inputs: []string{half}, outputs: []string{out.name},
			attrs: []Attr{AttrInt("to", int64(Float))}})
	}
	fp32 := map[string]bool{}
	for _, op := range h.Float32Ops {
		fp32[op] = true
	}
	nodes := make([]node, 0, len(b.nodes)+len(front)+len(back))
	nodes = append(nodes, front...)
	for _, n := range b.nodes {
		for i, a := range n.attrs {
			switch {
			case n.op == "Cast" && a.Name == "to" && a.i == int64(Float):
				n.attrs[i].i = int64(Float16)
			case a.kind == attrTensor && a.t.dtype == Float:
				t := *a.t
				t.dtype = Float16
				n.attrs[i].t = &t
			}
		}
		if !fp32[n.op] {
			nodes = append(nodes, n)
			continue
		}
		var after []node
		for i, in := range n.inputs {
			if in != "" && b.types[in] == Float16 {
				up := b.fresh(in + "_fp32")
				b.types[up] = Float
				nodes = append(nodes, node{op: "Cast", name: b.fresh("Cast"), inputs: []string{in}, outputs: []string{up},
					attrs: []Attr{AttrInt("to", int64(Float))}})
				n.inputs[i] = up
			}
		}
		for i, out := range n.outputs {
			if b.types[out] == Float16 {
				wide := b.fresh(out + "_fp32")
				b.types[wide] = Float
				after = append(after, node{op: "Cast", name: b.fresh("Cast"), inputs: []string{wide}, outputs: []string{out},
					attrs: []Attr{AttrInt("to", int64(Float16))}})
				n.outputs[i] = wide
			}
		}
		nodes = append(nodes, n)
		nodes = append(nodes, after...)
	}
	b.nodes = append(nodes, back...)
	return nil
}
