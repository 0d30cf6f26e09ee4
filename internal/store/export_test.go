package store

// OnRead makes every list query of s go to fn before it runs (the query
// plan test explains them).
func (s *Store) OnRead(fn func(query string, args []any)) { s.onRead = fn }
