"""Domain operations, one module per area. Each takes a session and a actor; none commits."""
