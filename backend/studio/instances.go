package studio

// InstanceStates returns the state of each synthesis instance by index ("loading", "idle",
// "busy", "failed", ...), or nil when synthesis is off. The window starts from it and follows the
// instance events after.
func (s *Studio) InstanceStates() []string {
	s.mu.RLock()
	pool := s.pool
	s.mu.RUnlock()
	if pool == nil {
		return nil
	}
	states := pool.States()
	out := make([]string, len(states))
	for i, st := range states {
		out[i] = string(st)
	}
	return out
}
