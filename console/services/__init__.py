"""Domain operations, one module per area. Each takes a session and a principal; none commits."""
